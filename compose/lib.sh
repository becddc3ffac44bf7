# lib.sh: the shell functions the container entrypoint (entrypoint.sh), the local launcher
# (launch.sh) and the image's staging (stage.sh) share: identities, CURVE keys, peer names, what a
# build tree holds. Source it with KEYS (the keys directory) and BIN (the directory holding
# opml-health) set.

die() { echo "opml: $*" >&2; exit 1; }

# The newest file under DIR that passes the find tests (-name opml-bus ...), or nothing. Binaries
# and artifacts are found by name, not by their component's folder; after a folder moves, a build
# tree still holds the old copy, never rebuilt, and the newest is the one built last.
newest() { # DIR TEST...
    d=$1
    shift
    find "$d" -type f "$@" -printf '%T@ %p\n' 2>/dev/null | sort -rn | head -n 1 | cut -d' ' -f2-
}

# The CURVE public key (64 hex digits) and the Ethereum address of identity NAME, from its key.
curve() {
    [ -f "$KEYS/$1.key" ] || die "no key for $1 in $KEYS"
    "$BIN/opml-health" --identity --key_file "$KEYS/$1.key" | sed -n 's/^curve_key //p'
}
address() {
    [ -f "$KEYS/$1.key" ] || die "no key for $1 in $KEYS"
    "$BIN/opml-health" --identity --key_file "$KEYS/$1.key" | sed -n 's/^address //p'
}
# NAME ENDPOINT -> KEYHEX@ENDPOINT, how actors name a peer (docs/runtime.md).
peer() { echo "$(curve "$1")@$2"; }

# The identities of a cluster: fixed actors, SLOTS executor keys, and per identity ID a chainwatch
# and a bisector. `health` asks for health checks, `deployer` deploys the contracts.
cluster_names() { # SLOTS IDENTITIES
    echo bus storage vmjudge health deployer client
    i=1
    while [ "$i" -le "$1" ]; do echo "executor-$i"; i=$((i + 1)); done
    for id in $2; do echo "chainwatch-$id bisector-$id"; done
}

# Creates the keys that do not exist yet (0600) and writes the allow-list of all of them.
make_keys() { # SLOTS IDENTITIES
    mkdir -p "$KEYS"
    (
        umask 077
        : >"$KEYS/allow.tmp"
        for n in $(cluster_names "$1" "$2"); do
            "$BIN/opml-health" --identity --key_file "$KEYS/$n.key" >/dev/null || die "cannot make key $n"
            curve "$n" >>"$KEYS/allow.tmp"
        done
    )
    mv "$KEYS/allow.tmp" "$KEYS/allow"
    chmod 0644 "$KEYS/allow"
}
