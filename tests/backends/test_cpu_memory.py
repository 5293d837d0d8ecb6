"""The CPU backend across calls: kept buffers, recycled outputs, in-place kernels, transposed products, profiling."""

import threading

import numpy as np
import pytest

import fnflow
import fnflow.numpy as fnp
from fnflow.backends.cpu import compile_graph
from fnflow.transforms.jit import executable

rng = np.random.default_rng(2)
BIG = rng.standard_normal((128, 160)).astype(np.float32)  # 80 KiB: above the recycling threshold
WB = rng.standard_normal((160, 160)).astype(np.float32)


def compiled(f, *args):
    return compile_graph(fnflow.make_graph(f)(*args))


def mlp(x, w):
    return fnp.tanh(fnp.exp(x @ w * 0.01) @ w) * 2


def ref(x, w):
    """In float64: two float32 paths (BLAS kernels differ between CPUs) each stay within 3e-5 of it."""
    x, w = np.float64(x), np.float64(w)
    return np.tanh(np.exp(x @ w * 0.01) @ w) * 2


def assert_matches(out, x, w):
    # a buffer written by another call would be off by ~0.1 (inputs differ by 10%), rounding by < 3e-5
    np.testing.assert_allclose(out, ref(x, w), rtol=0, atol=1e-4)


def test_outputs_kept_by_the_caller_are_never_overwritten():
    exe = compiled(mlp, BIG, WB)
    first = exe(BIG, WB)[0]
    kept = first.copy()
    for k in range(3):
        out = exe(BIG * (k + 2), WB)[0]
        assert_matches(out, BIG * (k + 2), WB)
    np.testing.assert_array_equal(first, kept)
    assert not first.flags.writeable


def test_dropped_outputs_are_recycled():
    exe = compiled(mlp, BIG, WB)
    bases = set()
    for _ in range(4):
        out = exe(BIG, WB)[0]
        bases.add(id(out.base))
        del out
    assert len(bases) == 1  # the caller let go of each output: its buffer is written again
    views = [exe(BIG, WB)[0] for _ in range(3)]  # held: three distinct buffers
    assert len({id(v.base) for v in views}) == 3


def test_intermediate_buffers_are_allocated_once():
    exe = compiled(mlp, BIG, WB)
    assert "_pool.pop()" in exe.source
    assert exe.source.count("_empty(") == 0  # the only output is recycled, intermediates are kept
    for k in range(3):
        assert_matches(exe(BIG + k, WB)[0], BIG + k, WB)


def test_concurrent_calls_use_separate_buffers():
    exe = compiled(mlp, BIG, WB)
    inputs = [BIG * (1 + 0.1 * k) for k in range(4)]
    results, errors = {}, []

    def work(k):
        try:
            for _ in range(20):
                out = exe(inputs[k], WB)[0]
                assert_matches(out, inputs[k], WB)
            results[k] = True
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 4


def test_in_place_kernel_writes_through_its_input():
    exe = compiled(lambda x, w: fnp.exp(x @ w) @ w, BIG, WB * 0.01)
    assert exe.num_buffers == 2
    step = exe.plan[1]
    assert step.kind == "kernel"
    # the call passes the product once: the variant writes through the array it reads
    call = [ln for ln in exe.source.splitlines() if ln.strip().startswith("_k")][0]
    args = call[call.index("(") + 1:-1].split(", ")
    assert len(args) == len(set(args))
    np.testing.assert_allclose(exe(BIG, WB * 0.01)[0], np.exp(BIG @ (WB * 0.01)) @ (WB * 0.01), rtol=1e-4,
                               atol=1e-6)


def test_transposed_product_is_computed_in_that_order():
    a = rng.standard_normal((6, 3)).astype(np.float32)
    b = rng.standard_normal((6, 5)).astype(np.float32)
    exe = compiled(lambda a, b: fnp.transpose(fnp.einsum("ki,kj->ij", a, b)) + 1, a, b)
    assert [s.kind for s in exe.plan] == ["blas", "kernel"]
    assert exe.plan[0].outputs[0].aval.shape == (5, 3)
    np.testing.assert_allclose(exe(a, b)[0], (a.T @ b).T + 1, rtol=1e-5)


def test_weight_gradients_need_no_transposed_reads():
    x = rng.standard_normal((8, 6)).astype(np.float32)
    w = rng.standard_normal((6, 4)).astype(np.float32)

    def step(w, x):
        g = fnflow.grad(lambda w: fnp.sum(fnp.tanh(x @ w)))(w)
        return w - 0.1 * g

    exe = compiled(step, w, x)
    assert not any(s.name == "transpose" for s in exe.plan)
    for s in exe.kernels:  # every kernel reads its operands in order: one flat loop
        assert "for i1" not in s.info.source
    expected = w - 0.1 * (x.T @ (1 - np.tanh(x @ w) ** 2))
    np.testing.assert_allclose(exe(w, x)[0], expected, rtol=1e-5)


def test_profile_reports_every_step():
    exe = compiled(mlp, BIG, WB)
    rows = exe.profile(BIG, WB, repeat=3)
    assert [s for s, _ in rows[:-1]] == exe.plan and rows[-1][0] is None
    assert all(t >= 0 for _, t in rows)
    text = exe.profile_report(BIG, WB, repeat=2)
    assert text.startswith("total") and "dot_general" in text


def test_jit_train_loop_keeps_values_across_steps():
    w0 = rng.standard_normal((160, 160)).astype(np.float32) * 0.05

    @fnflow.jit
    def step(w, x):
        g = fnflow.grad(lambda w: fnp.mean(fnp.tanh(x @ w) ** 2))(w)
        return w - 0.5 * g

    ws, w = [], w0
    for _ in range(4):
        w = step(w, BIG)
        ws.append(w)
    # redo in NumPy, comparing every kept step (none was overwritten by a later call)
    w = w0.astype(np.float64)
    x = BIG.astype(np.float64)
    for got in ws:
        t = np.tanh(x @ w)
        w = w - 0.5 * (x.T @ (2 * t * (1 - t ** 2))) / t.size
        np.testing.assert_allclose(got, w, rtol=2e-3, atol=1e-5)
    assert executable(step.make_graph(w0, BIG)).num_buffers >= 1


@pytest.mark.parametrize("config", [((1, 2), (0, 3)), ((-1, 1), (2, -2)), ((0, 0), (0, 0)), ((-1, -1), (-1, -1))])
def test_pad_is_a_fill_and_a_copy(config):
    from fnflow.core.trace import bind
    from fnflow.ops.shape import pad_p

    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    exe = compiled(lambda x: bind(pad_p, x * 1, np.float32(7), config=config), x)
    assert "pad" in [s.name for s in exe.plan if s.kind == "numpy"]
    want = pad_p.impl(x, np.float32(7), config)
    got = exe(x)[0]
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_logistic_is_exact_at_the_extremes():
    x = np.array([-200, -90, -20, -1, 0, 1, 20, 90, 200], np.float32)
    got = compiled(lambda x: fnflow.nn.sigmoid(x) * 1, x)(x)[0]
    want = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert not np.isnan(got).any()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-30)


def test_in_place_group_that_does_not_compile_runs_with_numpy(monkeypatch):
    from fnflow.backends.cpu import cache

    def broken(ks):
        raise RuntimeError("numba said no")

    monkeypatch.setattr(cache, "get_kernel", broken)
    exe = compiled(lambda x, w: fnp.exp(x @ w) * 2 @ w, BIG, WB * 0.01)
    np.testing.assert_allclose(exe(BIG, WB * 0.01)[0], (np.exp(BIG @ (WB * 0.01)) * 2) @ (WB * 0.01), rtol=1e-4,
                               atol=1e-6)


def test_scalar_groups_are_not_compiled():
    exe = compiled(lambda x, t: x * (fnp.sqrt(1 - 0.9 ** t) / (1 - 0.99 ** t)), BIG, np.float32(3))
    assert [s.kind for s in exe.plan if s.outputs[0].aval.shape == ()] and all(
        s.kind == "impl" for s in exe.plan if s.outputs[0].aval.shape == ())
    c = np.sqrt(1 - 0.9 ** 3) / (1 - 0.99 ** 3)
    np.testing.assert_allclose(exe(BIG, np.float32(3))[0], BIG * c, rtol=1e-5)
