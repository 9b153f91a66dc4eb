"""The reference evaluator: what the C-simulation computes, written plainly in numpy.

Every tensor is held as integer codes with its fixed-point type; every node is evaluated by its operation
(:mod:`approxhls.sim.ops`), which does what hls4ml's kernel does. The multiply-accumulate of Dense/Conv
layers looks every product up, one by one, in the layer's multiplier table, casts it to the accumulator
type, sums with the bias and casts to the result type. It favours clarity over speed: it is the oracle the
fast emulator is tested against.
"""

from __future__ import annotations

import numpy as np

from approxhls.errors import ModelError
from approxhls.fixedpoint import FixedType
from approxhls.sim.ir import IR, Node
from approxhls.sim.ops import get_op
from approxhls.sim.ops.base import Context, cast, wide


def product_frac(node: Node, x_t: FixedType) -> int:
    """Fractional bits of a layer's products: the operands' (po2 shift products say their own)."""
    return int(node.attrs.get("product_frac", x_t.frac + node.type("weight").frac))


def reference_mac(x: np.ndarray, w: np.ndarray, bias: np.ndarray, node: Node, x_t: FixedType,
                  assignment=None) -> np.ndarray:
    """x (rows, k) codes times w (k, out) codes through the layer's product table, plus bias -> result codes."""
    b_t, acc_t, res_t = node.type("bias"), node.type("accum"), node.type("result")
    prod_t = wide(product_frac(node, x_t))
    if assignment is None or assignment.exact:
        product = np.multiply
    elif hasattr(assignment, "products"):  # computed product by product (e.g. shifts of wide inputs)
        product = assignment.products
    else:
        table = assignment.table()
        x0, w0 = assignment.x_type.code_min, assignment.w_type.code_min

        def product(xs, ws):
            return table[xs - x0, ws - w0]  # one lookup per product

    acc = np.broadcast_to(cast(bias, b_t, acc_t), (x.shape[0], w.shape[1])).copy()
    for k in range(x.shape[1]):
        products = product(x[:, k][:, None], w[k][None, :])
        acc = acc_t.codes_from_int(acc + cast(products, prod_t, acc_t))  # accumulator wraps like ap_fixed
    return cast(acc, acc_t, res_t)


def run_graph(ir: IR, x: np.ndarray, mac, observe=None, layer=None, evaluate=None) -> np.ndarray:
    """Evaluate every node in order on a batch; returns the output (n, outputs) as float64 values.

    ``mac(node, group, rows, x_type)`` computes a multiplying node's weight group (the part evaluators differ
    in); ``observe(node, codes, type)``, if given, sees every node's output; ``layer`` and ``evaluate`` (see
    Context) may compute a multiplying layer whole, or any node in their own way."""
    env = run_nodes(ir, Context(len(x), x, mac, layer, evaluate), {}, 0, len(ir.nodes), observe)
    return output_values(ir, env, len(x))


def run_nodes(ir: IR, ctx: Context, env: dict, start: int, stop: int, observe=None, at=None) -> dict:
    """Evaluate nodes ``start:stop`` (in topological order) into ``env`` {variable: (codes, type)}, which must hold
    every variable they read; ``at(index, env)``, if given, is called before each node (a state can be kept)."""
    for i in range(start, stop):
        node = ir.nodes[i]
        if at is not None:
            at(i, env)
        ins = [env[v] for v in node.inputs]
        res_t = node.type()
        try:
            out = ctx.evaluate(node, ins, ctx) if ctx.evaluate is not None else get_op(node.op).evaluate(node, ins, ctx)
        except OverflowError as e:
            raise ModelError(f"layer {node.name!r}: its values overflow the evaluator's 64-bit integer codes (its "
                             f"result type is {res_t.width} bits, {res_t}; {e}). Quantize its output (a QActivation "
                             "or a quantizer on the layer) or give it a narrower type") from e
        for var in node.outputs:
            env[var] = (out, res_t)
        if observe is not None:
            observe(node, out, res_t)
    return env


def output_values(ir: IR, env: dict, n: int) -> np.ndarray:
    """The outputs as float64 values (n, elements); several outputs side by side, in the model's order."""
    values = [t.from_codes(codes).reshape(n, -1) for codes, t in (env[v] for v in ir.outputs)]
    return values[0] if len(values) == 1 else np.concatenate(values, axis=1)


def evaluate(ir: IR, x: np.ndarray, assignments: dict | None = None, batch: int = 64, observe=None) -> np.ndarray:
    """Outputs (n, ...) as float64 values for real inputs x (on the input grid)."""
    x = np.asarray(x, dtype=np.float64)
    assignments = assignments or {}

    def mac(node, group, rows, x_t):
        w, bias = get_op(node.op).groups(node)[group]
        return reference_mac(rows, w, bias, node, x_t, assignments.get(node.name) or node_product(node))

    outs = [run_graph(ir, x[i : i + batch], mac, observe) for i in range(0, len(x), batch)]
    return np.concatenate(outs) if outs else np.zeros((0,))


def node_product(node: Node):
    """The product a layer computes without a plan: None (exact) or the table of its product kind (po2 shifts)."""
    from approxhls.sim.assignment import builtin_product

    return builtin_product(node)
