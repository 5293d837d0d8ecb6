"""conv_general_dilated and the convolution functions of fnflow.nn.functional: values against a
slow direct reference, derivatives (orders 1 and 2, both modes), vmap against loops, jit and
make_graph against eager, Keras's padding/shape rules, errors."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import fnflow as ff
from fnflow.nn import functional as F
from fnflow.ops import conv as CV
from fnflow.ops.conv import conv_general_dilated, padding_pairs, same_padding
from fnflow.testing import check_grads

# ------------------------------------------------------------ reference


def ref_conv(x, w, strides, padding, lhs_dil, rhs_dil, groups):
    """Direct definition: out[n, o, co] = sum_{k, ci} xdil[n, o*s + k*d - lo, g*cgi + ci] w[k, ci, co]."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    nsp = x.ndim - 2
    n, s_sp, cin = x.shape[0], x.shape[1:-1], x.shape[-1]
    k_sp, (cgi, cout) = w.shape[:nsp], w.shape[-2:]
    cgo = cout // groups
    d_sp = [(s - 1) * ld + 1 for s, ld in zip(s_sp, lhs_dil)]
    xd = np.zeros((n, *d_sp, cin))
    xd[(slice(None),) + tuple(slice(None, None, ld) for ld in lhs_dil)] = x
    o_sp = [(lo + d + hi - ((k - 1) * r + 1)) // s + 1
            for (lo, hi), d, k, r, s in zip(padding, d_sp, k_sp, rhs_dil, strides)]
    out = np.zeros((n, *o_sp, cout))
    for o in np.ndindex(*o_sp):
        for k in np.ndindex(*k_sp):
            pos = [oi * s + ki * r - lo for oi, s, ki, r, (lo, _) in zip(o, strides, k, rhs_dil, padding)]
            if any(p < 0 or p >= d for p, d in zip(pos, d_sp)):
                continue
            v = xd[(slice(None),) + tuple(pos)]
            for g in range(groups):
                out[(slice(None),) + o + (slice(g * cgo, (g + 1) * cgo),)] += (
                    v[:, g * cgi:(g + 1) * cgi] @ w[k][:, g * cgo:(g + 1) * cgo])
    return out


def rng(seed=0):
    return np.random.default_rng(seed)


@st.composite
def conv_configs(draw):
    nsp = draw(st.integers(1, 2))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cgi, cgo = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    n = draw(st.integers(1, 2))
    s_sp = tuple(draw(st.integers(1, 6)) for _ in range(nsp))
    k_sp = tuple(draw(st.integers(1, 3)) for _ in range(nsp))
    strides = tuple(draw(st.integers(1, 3)) for _ in range(nsp))
    lhs_dil = tuple(draw(st.sampled_from([1, 1, 2])) for _ in range(nsp))
    rhs_dil = tuple(draw(st.sampled_from([1, 1, 2])) for _ in range(nsp))
    padding = tuple((draw(st.integers(-1, 2)), draw(st.integers(-1, 2))) for _ in range(nsp))
    o_sp = [CV.out_size(s, lo, hi, k, stv, ld, rd)
            for s, (lo, hi), k, stv, ld, rd in zip(s_sp, padding, k_sp, strides, lhs_dil, rhs_dil)]
    assume(all(o > 0 for o in o_sp))
    return dict(x=(n, *s_sp, cgi * groups), w=(*k_sp, cgi, cgo * groups), strides=strides, padding=padding,
                lhs_dil=lhs_dil, rhs_dil=rhs_dil, groups=groups)


def _call(c):
    return lambda x, w: conv_general_dilated(x, w, c["strides"], c["padding"], c["lhs_dil"], c["rhs_dil"],
                                             c["groups"])


# --------------------------------------------------------------- values


@settings(max_examples=60)
@given(conv_configs())
def test_values_match_direct_reference(c):
    r = rng(1)
    x, w = r.normal(size=c["x"]), r.normal(size=c["w"])
    got = _call(c)(x, w)
    want = ref_conv(x, w, c["strides"], c["padding"], c["lhs_dil"], c["rhs_dil"], c["groups"])
    assert got.shape == want.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def _features_major(x):
    """``x`` with the same values, stored as the transpose of a C-contiguous (C, *S, N) array."""
    nd = x.ndim
    perm = (nd - 1,) + tuple(range(1, nd - 1)) + (0,)
    return np.ascontiguousarray(x.transpose(perm)).transpose(perm)


@settings(max_examples=40)
@given(conv_configs())
def test_all_strategies_and_cpu_kernels_agree(c):
    # the impl picks one of three strategies by shape and layout, with NumPy or compiled helpers:
    # check every combination on every configuration (groups only run im2col)
    from fnflow.backends.cpu.kernels import conv as K

    r = rng(2)
    x, w = r.normal(size=c["x"]), r.normal(size=c["w"])
    want = ref_conv(x, w, c["strides"], c["padding"], c["lhs_dil"], c["rhs_dil"], c["groups"])
    args = (c["strides"], c["padding"], c["lhs_dil"], c["rhs_dil"], c["groups"])
    helpers = [{}, dict(patches=K.patches, scatter=K.scatter)]
    strategies = ["im2col"] if c["groups"] > 1 else ["im2col", "scatter", "swapped"]
    for lhs in (x, _features_major(x)):
        for h in helpers:
            for strategy in strategies + [None]:
                got = CV.conv_compute(lhs, w, *args, strategy=strategy, **h)
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10, err_msg=f"{strategy} {h}")
        np.testing.assert_allclose(K.conv_cpu(lhs, w, *args), want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_kernels_im2col_col2im_match_numpy(dtype):
    # many channels and padding: the compiled im2col runs (NumPy's handles few channels / no padding)
    from fnflow.backends.cpu.kernels import conv as K

    r = rng(3)
    x = r.normal(size=(2, 6, 5, 9)).astype(dtype)
    for args in [((4, 3), (1, 2), ((1, 1), (2, 0)), (1, 1), (2, 2), (1, 1)),
                 ((6, 4), (2, 1), ((1, 2), (0, 1)), (2, 1), (3, 2), (1, 2)),
                 ((6, 5), (1, 1), ((1, 1), (1, 1)), (1, 1), (3, 3), (1, 1))]:
        got = K.patches(x, *args)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, CV.patches_np(x, *args))
    z = r.normal(size=(2, 5, 4, 3, 2, 6)).astype(dtype)
    for out_sp, args in [((7, 6), ((1, 1), ((2, 2), (1, 1)), (1, 1), (1, 1))),
                         ((9, 4), ((1, 2), ((1, 1), (0, 1)), (2, 1), (1, 2))),
                         ((4, 3), ((2, 1), ((-1, 0), (2, 2)), (1, 1), (2, 1)))]:
        np.testing.assert_allclose(K.scatter(z, out_sp, *args), CV.scatter_np(z, out_sp, *args), rtol=1e-6,
                                   atol=1e-6)


def test_3d_and_float32():
    r = rng(3)
    x, w = r.normal(size=(2, 4, 5, 3, 2)).astype(np.float32), r.normal(size=(2, 3, 2, 2, 3)).astype(np.float32)
    got = conv_general_dilated(x, w, (1, 2, 1), "SAME")
    assert got.dtype == np.float32 and got.shape == (2, 4, 3, 3, 3)
    pads = padding_pairs("SAME", (4, 5, 3), (2, 3, 2), (1, 2, 1))
    np.testing.assert_allclose(got, ref_conv(x, w, (1, 2, 1), pads, (1, 1, 1), (1, 1, 1), 1), rtol=1e-5, atol=1e-5)


def test_result_is_read_only():
    out = conv_general_dilated(np.ones((1, 3, 1)), np.ones((2, 1, 1)))
    assert isinstance(out, ff.Array) and not out.flags.writeable


# ------------------------------------------------------------ SAME rule


@pytest.mark.parametrize("size, k, s, d", [(5, 3, 1, 1), (5, 3, 2, 1), (6, 3, 2, 1), (4, 4, 1, 1), (7, 2, 3, 1),
                                           (5, 3, 1, 2), (3, 5, 1, 1), (1, 3, 2, 1), (6, 1, 4, 1)])
def test_same_padding_is_keras_rule(size, k, s, d):
    ke = (k - 1) * d + 1
    total = max((-(-size // s) - 1) * s + ke - size, 0)
    assert same_padding(size, k, s, d) == (total // 2, total - total // 2)
    x = np.ones((1, size, 1))
    out = conv_general_dilated(x, np.ones((k, 1, 1)), s, "SAME", rhs_dilation=d)
    assert out.shape == (1, -(-size // s), 1)


def test_same_padding_puts_the_odd_pixel_at_the_end():
    # input 1..4, kernel 2 of ones, stride 1: total padding 1, all of it after the input
    out = conv_general_dilated(np.arange(1.0, 5.0).reshape(1, 4, 1), np.ones((2, 1, 1)), 1, "same")
    np.testing.assert_array_equal(np.asarray(out).ravel(), [3, 5, 7, 4])


# ---------------------------------------------------------- derivatives

GRAD_CASES = [
    dict(x=(2, 5, 4, 2), w=(3, 2, 2, 3), strides=(1, 1), padding="VALID", lhs_dil=(1, 1), rhs_dil=(1, 1), groups=1),
    dict(x=(1, 6, 5, 2), w=(3, 3, 2, 2), strides=(2, 2), padding="SAME", lhs_dil=(1, 1), rhs_dil=(1, 1), groups=1),
    dict(x=(2, 7, 3), w=(3, 3, 2), strides=(3,), padding="SAME", lhs_dil=(1,), rhs_dil=(1,), groups=1),
    dict(x=(1, 7, 6, 2), w=(2, 3, 2, 2), strides=(1, 2), padding=((1, 2), (2, 0)), lhs_dil=(1, 1),
         rhs_dil=(2, 1), groups=1),
    dict(x=(2, 5, 5, 4), w=(3, 3, 2, 4), strides=(2, 1), padding=((1, 1), (0, 1)), lhs_dil=(1, 1),
         rhs_dil=(1, 1), groups=2),
    dict(x=(1, 5, 4, 3), w=(2, 2, 1, 6), strides=(1, 1), padding="SAME", lhs_dil=(1, 1), rhs_dil=(2, 1),
         groups=3),  # depthwise, multiplier 2
    dict(x=(2, 4, 3), w=(3, 3, 2), strides=(1,), padding=((2, 1),), lhs_dil=(2,), rhs_dil=(1,), groups=1),
    dict(x=(1, 3, 3, 2), w=(2, 3, 2, 2), strides=(2, 1), padding=((1, -1), (2, 2)), lhs_dil=(2, 3),
         rhs_dil=(1, 2), groups=1),
    dict(x=(1, 4, 3, 2, 2), w=(2, 2, 2, 2, 2), strides=(1, 2, 1), padding="SAME", lhs_dil=(1, 1, 1),
         rhs_dil=(1, 1, 1), groups=1),
]


@pytest.mark.parametrize("c", GRAD_CASES, ids=lambda c: f"x{c['x']}-w{c['w']}-g{c['groups']}")
def test_grads_orders_1_and_2(c):
    r = rng(4)
    x, w = r.normal(size=c["x"]), r.normal(size=c["w"])
    check_grads(_call(c), (x, w), order=2, modes=("fwd", "rev"))


def test_grad_matches_reference_transposes():
    # d/dx <ct, conv(x, w)> and d/dw by finite differences of the reference, elementwise
    c = GRAD_CASES[3]
    r = rng(5)
    x, w = r.normal(size=c["x"]), r.normal(size=c["w"])
    ct = r.normal(size=_call(c)(x, w).shape)
    gx, gw = ff.grad(lambda x, w: (_call(c)(x, w) * ct).sum(), argnums=(0, 1))(x, w)
    ref = ref_conv(x, w, c["strides"], c["padding"], c["lhs_dil"], c["rhs_dil"], 1)
    # linear in x: the gradient is exact from unit perturbations
    gx_ref = np.zeros(x.shape)
    for i in np.ndindex(*x.shape):
        e = np.zeros(x.shape)
        e[i] = 1
        gx_ref[i] = (ref_conv(e, w, c["strides"], c["padding"], c["lhs_dil"], c["rhs_dil"], 1) * ct).sum()
    np.testing.assert_allclose(gx, gx_ref, atol=1e-10)
    np.testing.assert_allclose((np.asarray(gw) * w).sum(), (ref * ct).sum(), rtol=1e-10)


def test_transposes_are_convolutions():
    g = ff.make_graph(ff.grad(lambda x, w: conv_general_dilated(x, w, 2, "SAME").sum(), argnums=(0, 1)))(
        np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 4)))
    names = [e.prim.name for e in g.eqns]
    assert names.count("conv_general_dilated") == 3


# --------------------------------------------------------------- vmap


@pytest.mark.parametrize("groups", [1, 2])
def test_vmap_over_inputs_kernels_and_both(groups):
    r = rng(6)
    xs, ws = r.normal(size=(3, 2, 5, 4, 2 * groups)), r.normal(size=(3, 2, 3, 2, 3 * groups))

    def f(x, w):
        return conv_general_dilated(x, w, (2, 1), "SAME", rhs_dilation=(1, 2), feature_group_count=groups)

    for in_axes, loop in [((0, None), lambda: [f(x, ws[0]) for x in xs]),
                          ((None, 0), lambda: [f(xs[0], w) for w in ws]),
                          ((0, 0), lambda: [f(x, w) for x, w in zip(xs, ws)])]:
        a = xs if in_axes[0] == 0 else xs[0]
        b = ws if in_axes[1] == 0 else ws[0]
        np.testing.assert_allclose(ff.vmap(f, in_axes)(a, b), np.stack(loop()), rtol=1e-12, atol=1e-12)


def test_vmap_on_non_leading_axes_and_of_grad():
    r = rng(7)
    xs, ws = r.normal(size=(2, 3, 5, 2)), r.normal(size=(3, 3, 2, 4))  # x batched on axis 1, w on axis 1
    f = lambda x, w: conv_general_dilated(x, w, 1, "VALID")  # noqa: E731
    got = ff.vmap(f, in_axes=(1, 1))(xs, ws)
    want = np.stack([f(xs[:, i], ws[:, i]) for i in range(3)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    g = ff.grad(lambda x, w: (f(x, w) ** 2).sum(), argnums=(0, 1))
    gv = ff.vmap(g, in_axes=(1, 1))(xs, ws)
    for i in range(3):
        gi = g(xs[:, i], ws[:, i])
        np.testing.assert_allclose(gv[0][i], gi[0], rtol=1e-10)
        np.testing.assert_allclose(gv[1][i], gi[1], rtol=1e-10)


# ------------------------------------------------------------- jit, graphs


def test_kernel_gradient_reads_the_input_as_stored():
    # the kernel gradient's rule presents the input transposed; the impl contracts it as stored
    r = rng(4)
    x, ct = r.normal(size=(3, 7, 6, 4)), r.normal(size=(3, 5, 4, 2))
    lhs, rhs = x.transpose(3, 1, 2, 0), ct.transpose(1, 2, 0, 3)
    assert CV._features_major(lhs) and not CV._features_major(x)
    got = conv_general_dilated(lhs, rhs)  # (4, 3, 3, 2): [ci, kh, kw, co]
    np.testing.assert_allclose(got[:, 1, 2], np.einsum("nhwc,nhwo->co", x[:, 1:6, 2:6], ct), rtol=1e-10)
    np.testing.assert_allclose(got, ref_conv(lhs, rhs, (1, 1), ((0, 0), (0, 0)), (1, 1), (1, 1), 1), rtol=1e-10)


def test_jit_and_make_graph_agree_with_eager():
    r = rng(8)
    x, w = r.normal(size=(2, 6, 6, 3)).astype(np.float32), r.normal(size=(3, 3, 3, 4)).astype(np.float32)

    def loss(x, w):
        return (F.conv2d(x, w, strides=2, padding="same") ** 2).sum()

    np.testing.assert_allclose(ff.jit(loss)(x, w), loss(x, w), rtol=1e-5)
    g, gj = ff.grad(loss, argnums=(0, 1)), ff.jit(ff.grad(loss, argnums=(0, 1)))
    for a, b in zip(gj(x, w), g(x, w)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    graph = ff.make_graph(lambda x, w: F.conv2d(x, w))(x, w)
    assert [e.prim.name for e in graph.eqns] == ["conv_general_dilated"]
    assert "conv_general_dilated" in str(graph)


# ---------------------------------------------------------- nn functional


def test_conv2d_bias_and_channels_first():
    r = rng(9)
    x, w, b = r.normal(size=(2, 5, 6, 3)), r.normal(size=(3, 2, 3, 4)), r.normal(size=(4,))
    y = F.conv2d(x, w, b, strides=(1, 2), padding="same", dilation_rate=(2, 1))
    pads = padding_pairs("SAME", (5, 6), (3, 2), (1, 2), (2, 1))
    np.testing.assert_allclose(y, ref_conv(x, w, (1, 2), pads, (1, 1), (2, 1), 1) + b, rtol=1e-10)
    yf = F.conv2d(np.transpose(x, (0, 3, 1, 2)), w, b, strides=(1, 2), padding="same", dilation_rate=(2, 1),
                  data_format="channels_first")
    np.testing.assert_allclose(yf, np.transpose(np.asarray(y), (0, 3, 1, 2)), rtol=1e-12)


def test_conv1d_causal_and_groups():
    r = rng(10)
    x, w = r.normal(size=(2, 7, 4)), r.normal(size=(3, 2, 6))
    y = F.conv1d(x, w, padding="causal", dilation_rate=2, groups=2)
    np.testing.assert_allclose(y, ref_conv(x, w, (1,), ((4, 0),), (1,), (2,), 2), rtol=1e-10)
    # causal: output t does not depend on inputs after t
    x2 = x.copy()
    x2[:, 4:] += 1
    np.testing.assert_allclose(np.asarray(F.conv1d(x2, w, padding="causal", groups=2))[:, :4],
                               np.asarray(F.conv1d(x, w, padding="causal", groups=2))[:, :4])


def test_depthwise_conv2d_keras_channel_order():
    r = rng(11)
    x, k = r.normal(size=(1, 5, 5, 3)), r.normal(size=(3, 3, 3, 2))  # (kh, kw, in, multiplier)
    y = np.asarray(F.depthwise_conv2d(x, k, padding="same"))
    assert y.shape == (1, 5, 5, 6)
    pads = ((1, 1), (1, 1))
    for c in range(3):
        for m in range(2):
            want = ref_conv(x[..., c:c + 1], k[:, :, c:c + 1, m:m + 1], (1, 1), pads, (1, 1), (1, 1), 1)
            np.testing.assert_allclose(y[..., c * 2 + m], want[..., 0], rtol=1e-10)
    check_grads(lambda x, k: F.depthwise_conv2d(x, k, strides=2), (x, k), order=2)


def keras_transpose_len(size, k, s, padding, output_padding, d=1):
    ke = (k - 1) * d + 1
    if output_padding is None:
        return size * s if padding == "same" else (size - 1) * s + max(ke, s)
    pad = ke // 2 if padding == "same" else 0
    return (size - 1) * s + ke - 2 * pad + output_padding


def ref_conv_transpose_1d(x, k, s, padding, output_padding, d=1):
    """Scatter definition: full[i*s + t*d] += k[t] @ x[i], then Keras's crop/extension."""
    n, size, cin = x.shape
    kk, cout, _ = k.shape
    ke = (kk - 1) * d + 1
    length = keras_transpose_len(size, kk, s, padding, output_padding, d)
    lo, _ = F._transpose_pads(kk, s, d, padding, output_padding)
    full = np.zeros((n, (size - 1) * s + ke + length + ke, cout))
    for i in range(size):
        for t in range(kk):
            full[:, i * s + t * d] += x[:, i] @ k[t].T
    c = ke - 1 - lo
    return full[:, c:c + length]


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("k, s, op, d", [(3, 1, None, 1), (3, 2, None, 1), (2, 3, None, 1), (4, 2, None, 1),
                                         (3, 2, 1, 1), (3, 3, 0, 1), (2, 2, 1, 2), (3, 1, None, 2),
                                         (1, 2, None, 1), (5, 2, 1, 1)])
def test_conv_transpose_1d_matches_keras_rules(padding, k, s, op, d):
    r = rng(12)
    x, ker = r.normal(size=(2, 4, 3)), r.normal(size=(k, 2, 3))  # (k, out, in)
    y = F.conv_transpose1d(x, ker, strides=s, padding=padding, output_padding=op, dilation_rate=d)
    assert y.shape == (2, keras_transpose_len(4, k, s, padding, op, d), 2)
    np.testing.assert_allclose(y, ref_conv_transpose_1d(x, ker, s, padding, op, d), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("s", [1, 2, 3])
def test_conv_transpose2d_is_the_input_gradient_of_conv2d(padding, s):
    r = rng(13)
    x, ker, b = r.normal(size=(2, 4, 3, 3)), r.normal(size=(3, 2, 5, 3)), r.normal(size=(5,))  # (kh, kw, out, in)
    y = F.conv_transpose2d(x, ker, b, strides=s, padding=padding)
    assert y.shape == (2, keras_transpose_len(4, 3, s, padding, None), keras_transpose_len(3, 2, s, padding, None), 5)
    _, pullback = ff.vjp(lambda z: F.conv2d(z, ker, strides=s, padding=padding), np.zeros(y.shape))
    np.testing.assert_allclose(y, np.asarray(pullback(x)[0]) + b, rtol=1e-10, atol=1e-12)
    check_grads(lambda x, k: F.conv_transpose2d(x, k, strides=s, padding=padding, output_padding=s - 1), (x, ker),
                order=2)


# ---------------------------------------------------------------- errors


def test_error_messages():
    x, w = np.ones((2, 5, 5, 3)), np.ones((3, 3, 4, 8))
    with pytest.raises(ValueError, match=r"input has 3 channels but the kernel expects 4.*\(2, 5, 5, 3\).*"
                                         r"\(3, 3, 4, 8\)"):
        conv_general_dilated(x, w)
    with pytest.raises(ValueError, match="feature_group_count=2"):
        conv_general_dilated(np.ones((1, 5, 5, 4)), np.ones((3, 3, 2, 3)), feature_group_count=2)
    with pytest.raises(ValueError, match="window_strides must be positive"):
        conv_general_dilated(x, np.ones((3, 3, 3, 2)), (0, 1))
    with pytest.raises(ValueError, match="one entry per spatial axis"):
        conv_general_dilated(x, np.ones((3, 3, 3, 2)), (1, 1, 1))
    with pytest.raises(ValueError, match=r"spatial size \(-1, 3\) <= 0"):
        conv_general_dilated(np.ones((1, 2, 5, 3)), np.ones((4, 3, 3, 2)))
    with pytest.raises(ValueError, match="rank"):
        conv_general_dilated(x, np.ones((3, 3, 2)))
    with pytest.raises(ValueError, match="padding must be"):
        conv_general_dilated(x, np.ones((3, 3, 3, 2)), 1, "full")
    with pytest.raises(TypeError, match="same dtype"):
        conv_general_dilated_p_bind(np.ones((1, 4, 1), np.float32), np.ones((2, 1, 1)))
    with pytest.raises(ValueError, match="conv2d: expected a 4-d input"):
        F.conv2d(np.ones((5, 5, 3)), np.ones((3, 3, 3, 2)))
    with pytest.raises(ValueError, match="padding must be one of 'valid', 'same'"):
        F.conv2d(x, np.ones((3, 3, 3, 2)), padding="causal")
    with pytest.raises(ValueError, match="kernel .* expects 4"):
        F.conv_transpose2d(x, np.ones((3, 3, 2, 4)))
    with pytest.raises(ValueError, match="data_format"):
        F.conv2d(x, np.ones((3, 3, 3, 2)), data_format="NHWC")


def conv_general_dilated_p_bind(x, w):
    # the public wrapper promotes; a direct bind of mixed dtypes fails when traced
    return ff.make_graph(lambda x, w: CV.conv_general_dilated_p.bind(
        x, w, window_strides=(1,), padding=((0, 0),), lhs_dilation=(1,), rhs_dilation=(1,),
        feature_group_count=1))(x, w)
