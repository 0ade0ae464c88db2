import numpy as np

from bayescap import usl


def test_published_specsdm91_peak():
    # PROVENANCE.md: sigma=0.0277285, kappa=0.0001044, lambda=89.995 -> peak X=1884 at N=96.52
    s, k, lam = 0.0277285, 0.0001044, 89.9952384
    assert np.isclose(usl.peak_n(s, k), 96.52, atol=0.05)
    assert np.isclose(usl.max_throughput(s, k, lam), 1884, atol=1)


def test_pure_contention_has_no_peak_and_amdahl_limit():
    assert np.isinf(usl.peak_n(0.057771, 0.0))
    assert np.isclose(usl.max_throughput(0.057771, 0.0, 21.848843), 21.848843 / 0.057771)


def test_linear_case_and_overpromise():
    n = np.array([1, 2, 10])
    assert np.allclose(usl.throughput(n, 0.0, 0.0, 3000.0), 3000.0 * n)
    assert np.allclose(usl.linear_overpromise(n, 0.0, 0.0), 0.0)
    # 10 cores at sigma=0.1: X(10)=10/(1.9)=5.26 units -> linear over-promises by 90%
    assert np.isclose(usl.linear_overpromise(10, 0.1, 0.0), 0.9)
