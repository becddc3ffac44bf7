/* compare.c: ONNX's comparisons and logic (onnx_lower.h), bool outputs: Less, LessOrEqual,
 * Greater, GreaterOrEqual -> Compare (operands of one dtype; a constant takes the other's, as for
 * Equal), And, Or, Xor -> Logic, IsNaN and IsInf (detect_negative, detect_positive) -> IsNaNInf;
 * folded when every input is constant. */
#include "onnx_lower.h"

static int binary_bool(onnx_ctx *ox, unsigned op, unsigned arg, int align) {
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    int ab[2], rank;
    int64_t dims[KD_MAX_RANK];
    if (onnx_only_attrs(ox, none) || onnx_in(ox, 0, &ab[0]) || onnx_in(ox, 1, &ab[1])) return -1;
    if (ab[0] < 0 || ab[1] < 0) return cv_fail(c, "missing input");
    if ((align && same_dtype(c, &ab[0], &ab[1])) || broadcast_n(c, ab, 2, &rank, dims)) return -1;
    kd_desc d = {.op = (uint16_t)op, .noperands = 2, .ia = {(int32_t)arg}};
    cv_set_out(&d, rank, dims);
    d.out.dtype = KD_BOOL;
    return cv_emit(c, &d, ab, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_compare(onnx_ctx *ox, unsigned rel) { return binary_bool(ox, OP_COMPARE, rel, 1); }

int onnx_op_logic(onnx_ctx *ox, unsigned op) { return binary_bool(ox, OP_LOGIC, op, 0); }

int onnx_op_isnaninf(onnx_ctx *ox, unsigned inf) {
    conv *c = ox->c;
    static const char *const known[] = {"detect_negative", "detect_positive", NULL}, *const none[] = {NULL};
    int x;
    if (onnx_first_input(ox, inf ? known : none, &x)) return -1;
    kd_desc d = {.op = OP_ISNANINF, .noperands = 1, .ia = {(int32_t)inf}};
    if (inf) d.ia[1] = onnx_attr_i(ox, "detect_negative", 1) != 0, d.ia[2] = onnx_attr_i(ox, "detect_positive", 1) != 0;
    cv_set_out(&d, c->syms[x].rank, c->syms[x].dims);
    d.out.dtype = KD_BOOL;
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}
