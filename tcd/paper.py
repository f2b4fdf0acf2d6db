"""The paper's own numbers, as printed (see ``shared/paper/TCD_NOTES.md``), for side-by-side tables.

Only what the appendix prints is here: the main body's text->video table is not available, so the
text->video column is filled only where an appendix table gives it (Table A1's R@1, Table A2's
ξ = 1.0 row for TCD). Keys use this package's variant names.
"""

METRICS = ("R@1", "R@5", "R@10", "MdR", "MnR")

# Table A3, video->text on TextVR: R@1, R@5, R@10, MdR, MnR.
V2T_TEXTVR = {
    "starvr": (18.6, 40.1, 48.8, 12.0, 132.8),
    "clip4clip": (22.6, 47.9, 57.5, 6.0, 86.5),
    "xpool": (21.9, 42.0, 52.3, 9.0, 89.0),
    "clip4clip_wocr": (29.9, 56.3, 66.4, 4.0, 63.0),
    "xpool_wocr": (34.3, 59.9, 68.5, 3.0, 54.8),
    "tcd": (51.9, 78.3, 86.5, 1.0, 7.7),
}

# Text->video on TextVR where the appendix prints it: R@1 (Table A1), R@5/R@10 (Table A2, ξ = 1.0).
T2V_TEXTVR = {
    "starvr": {"R@1": 19.2},
    "tcd": {"R@1": 60.4, "R@5": 82.8, "R@10": 88.2},
}

# Table A1: complexity on TextVR.
COMPLEXITY = {
    "starvr": {"tokens": "1:200", "gflops_b16": 395.2, "training": "4x3090, 76.3 h, bs 16"},
    "tcd": {"tokens": "12:12", "gflops_b16": 61.8, "training": "1x3090, 8.5 h, bs 42"},
}

# Table A2: window scale ξ on TextVR -> (T2V R@1, R@5, R@10, V2T R@1, R@5, R@10).
WINDOW_XI = {
    0.2: (49.3, 77.2, 84.3, 43.5, 72.8, 82.6),
    0.4: (56.5, 80.3, 86.5, 48.5, 76.7, 86.1),
    0.6: (56.2, 79.0, 86.1, 47.4, 75.3, 84.2),
    0.8: (58.7, 80.9, 87.5, 49.1, 75.5, 84.6),
    1.0: (60.4, 82.8, 88.2, 51.9, 78.3, 86.5),
}

# Table A4: module ablation on MSR-VTT, T2V (R@1, R@5, R@10, MnR).
MODULES_MSRVTT = {
    "none": (53.6, 80.9, 88.6, 9.7),
    "CTCD": (56.9, 80.3, 86.6, 9.9),
    "CTCD+Co-Attn": (57.6, 81.0, 88.4, 9.0),
    "CTCD+HSC": (49.8, 75.2, 84.8, 14.8),
    "all": (59.7, 83.2, 89.3, 7.2),
}

# Table A5: text-condition only, τ sweep, T2V (R@1, R@5, R@10) on TextVR.
TAU_TEXTVR = {
    0.1: (31.1, 55.2, 64.9),
    0.5: (34.2, 59.4, 69.0),
    1.0: (46.6, 61.7, 70.6),
    2.0: (35.0, 60.8, 71.2),
    5.0: (36.6, 61.3, 70.6),
    10.0: (35.5, 62.2, 75.1),
}
