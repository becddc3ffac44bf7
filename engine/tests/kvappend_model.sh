# shellcheck shell=sh
# kvappend_model.sh: a hand-made model file for the CLI's bad-input tests, written byte by byte in
# docs/model-format.md's layout (no converter makes it: converted models end in scores).
#   kvappend_model FILE CACHE_DTYPE ROWS
# FILE: a one-input model whose output is its only node's, a KVAppend of the f32 input
# [ROWS, 1, 32] into a cache weight [1, 1, 32] of CACHE_DTYPE (1 f32, 4 Q8_0) at position 0
# (weight 1). With CACHE_DTYPE 4 the model's output is Q8_0 blocks, which have no element size.
kvappend_model() {
    le() { # VALUE BYTES: little-endian
        _v=$1 _i=0
        while [ "$_i" -lt "$2" ]; do printf "\\$(printf %03o $((_v & 255)))"; _v=$((_v >> 8)) _i=$((_i + 1)); done
    }
    rec() { # DTYPE RANK DIMS...: a tensor record (28 bytes)
        le "$1" 1; le "$2" 1; le 0 2; shift 2
        for d in "$@"; do le "$d" 4; done
        head -c $((24 - 4 * $#)) /dev/zero
    }
    cb=$(($2 == 4 ? 34 : 128)) # the cache's bytes
    {
        printf OPMLMDL1; le 1 4; le 1 4; le 2 4; le 1 4; le 0 4; le 0 4  # nin n nweights output divisor
        rec 1 3 "$3" 1 32                                                   # input: the new rows
        rec "$2" 3 1 1 32; le 0 8; rec 3 1 1; le $(((cb + 63) / 64 * 64)) 8 # weights: cache, pos
        le $((0x444E504F)) 4; le 1 2; le 35 2; le 3 1; head -c 3 /dev/zero  # "OPND" 1, KVAppend, 3 operands
        rec "$2" 3 1 1 32; rec "$2" 3 1 1 32; rec 1 3 "$3" 1 32; rec 3 1 1  # out, cache, new, pos
        head -c $((472 - 40 - 3 * 28)) /dev/zero                            # unused operands, attributes
        le 2 2; le 0 2; le 0 4; le 0 4; le 1 4                               # operand 1 is value 0
        _r=3; while [ $_r -lt 12 ]; do le 4294967295 4; _r=$((_r + 1)); done
        head -c $((704 - 656 + (cb + 63) / 64 * 64 + 4)) /dev/zero           # padding, cache, padding, pos
    } >"$1"
}
