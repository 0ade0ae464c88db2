"""The sampler coordinates of the rectified kappa: an exact, invertible change of variables."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, stats

from bayescap.models.kink_stretch import KinkStretch


def _functions(transform: KinkStretch):
    u = pt.dvector("u")
    k = pt.dvector("k")
    return (
        pytensor.function([u], transform.backward(u)),
        pytensor.function([k], transform.forward(k)),
        pytensor.function([u], transform.log_jac_det(u)),
    )


@pytest.mark.parametrize("stretch, width", [(10.0, 0.05), (3.0, 0.5), (1.0, 0.05)])
def test_inverse_and_jacobian(stretch, width):
    backward, forward, log_jac = _functions(KinkStretch(stretch, width))
    u = np.linspace(-3.0, 3.0, 601)
    k = backward(u)
    np.testing.assert_allclose(forward(k), u, atol=1e-9)
    h = 1e-6
    slope = (backward(u + h) - backward(u - h)) / (2 * h)
    np.testing.assert_allclose(np.exp(log_jac(u)), slope, rtol=1e-6)
    assert np.all(np.diff(k) > 0)  # a bijection
    # far from 0 the slope is c on the flat side and 1 on the data side
    assert np.exp(log_jac(np.array([-50.0])))[0] == pytest.approx(stretch, rel=1e-3)
    assert np.exp(log_jac(np.array([50.0])))[0] == pytest.approx(1.0, rel=1e-3)
    assert backward(np.array([0.0]))[0] == pytest.approx(0.0, abs=1e-12)  # the kink stays at k = 0


def test_stretch_one_is_the_identity():
    backward, forward, log_jac = _functions(KinkStretch(1.0))
    u = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(backward(u), u, atol=1e-12)
    np.testing.assert_allclose(log_jac(u), 0.0, atol=1e-12)


def test_density_in_new_coordinates_is_the_same_normal():
    """p_u(u) = N(k(u); m, s) k'(u) integrates to 1 and gives k the Normal's mean, sd and P(k < 0)."""
    m, s = -1.1, 0.8
    backward, _, log_jac = _functions(KinkStretch(10.0, 0.05))

    def p_u(x):
        k = backward(np.atleast_1d(x))
        return float(stats.norm.pdf(k, m, s)[0] * np.exp(log_jac(np.atleast_1d(x)))[0])

    def moment(fn):
        return integrate.quad(lambda x: fn(x) * p_u(x), -5.0, 10.0, points=[0.0], limit=400)[0]

    assert moment(lambda x: 1.0) == pytest.approx(1.0, abs=1e-6)
    mean = moment(lambda x: backward(np.atleast_1d(x))[0])
    second = moment(lambda x: backward(np.atleast_1d(x))[0] ** 2)
    assert mean == pytest.approx(m, abs=1e-5)
    assert np.sqrt(second - mean**2) == pytest.approx(s, abs=1e-5)
    p_zero = integrate.quad(p_u, -5.0, 0.0, limit=400)[0]
    assert p_zero == pytest.approx(stats.norm.cdf(0.0, m, s), abs=1e-6)


def test_vector_stretch_applies_per_element():
    backward, _, log_jac = _functions(KinkStretch(np.array([10.0, 1.0])))
    u = np.array([-2.0, -2.0])
    k = backward(u)
    assert k[0] < -15.0 and k[1] == pytest.approx(-2.0)
    assert log_jac(u)[1] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("stretch, width", [(0.5, 0.05), (np.nan, 0.05), (10.0, 0.0), (np.array([2.0, 0.9]), 0.05)])
def test_bad_settings_are_refused(stretch, width):
    with pytest.raises(ValueError, match="stretch >= 1 and width > 0"):
        KinkStretch(stretch, width)
