"""Case tables per answer category: (response answer, gold, expected).

Each category has equivalent rewrites (True) and hard negatives (False). The benchmark reads
these tables too, so the accuracy it prints per category is measured on exactly these rows.
"""

CASES: dict[str, list[tuple[str, str, bool]]] = {
    "integers and decimals": [
        ("42", "42", True), ("042", "42", True), ("42.0", "42", True), ("+42", "42", True),
        ("0.50", "0.5", True), (".5", "0.5", True), ("-7", "-7", True), ("3.14", "3.140", True),
        ("43", "42", False), ("-42", "42", False), ("4.2", "42", False), ("0.55", "0.5", False),
        ("0", "0.001", False), ("1000", "100", False), (".35626", ".35625", False), ("0.50001", "0.5", False),
    ],
    "fractions": [
        (r"\frac{1}{2}", "0.5", True), ("1/2", r"\frac12", True), (r"\frac{6}{8}", r"\frac34", True),
        (r"-\frac{3}{4}", r"\frac{-3}{4}", True), (r"\frac{9}{7}", r"\dfrac{9}{7}", True),
        (r"\tfrac{2}{3}", r"\frac{2}{3}", True), (r"\frac{1}{2004!}", r"\frac{1}{2004!}", True),
        (r"\frac{7}{9}", r"\dfrac{9}{7}", False), (r"\frac{1}{2006!}", r"\frac{1}{2004!}", False),
        (r"\frac{1}{2^{98}}", r"\frac{1}{2^{99}}", False), ("0.333", r"\frac13", False),
        (r"\frac{3}{4}", r"-\frac34", False),
    ],
    "radicals and pi": [
        (r"3\sqrt{13}", r"\sqrt{117}", True), (r"\sqrt{12}", r"2\sqrt3", True),
        (r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}", True), (r"2\pi", r"\pi \cdot 2", True),
        (r"\sqrt[3]{-8}", "-2", True), (r"\frac{\pi}{3}", r"\dfrac{\pi}{3}", True),
        (r"4\sqrt{2}", r"\sqrt{32}", True), (r"\sqrt{2}+\sqrt{3}", r"\sqrt{5+2\sqrt{6}}", True),
        (r"3\sqrt{12}", r"3\sqrt{13}", False), (r"\sqrt{13}", r"3\sqrt{13}", False),
        (r"\frac{\pi}{4}", r"\frac{\pi}{3}", False), ("3.14", r"\pi", False),
        (r"\sqrt{2}", "1.41", False),
    ],
    "expressions": [
        ("x^2+2x+1", "(x+1)^2", True), ("2(x+3)", "2x+6", True), (r"\frac{x}{2}", "0.5x", True),
        (r"1-\frac{1}{e}", r"\frac{e-1}{e}", True), ("ab", "ba", True), (r"\sin^2 x", r"1-\cos^2 x", True),
        (r"1+\frac{1}{e}", r"1-\frac{1}{e}", False), ("x^2-1", "(x+1)^2", False),
        ("a", "A", False), ("x+y", "x+z", False), ("|x|", "x", False), ("2x+6", "2x+5", False),
    ],
    "equations": [
        ("x=3", "3", True), ("3", "x=3", True), ("y=2x+3", "y = 3 + 2x", True),
        ("2x-y+3=0", "y=2x+3", True), ("x^2+y^2=1", "y^2+x^2=1", True), ("x = 6/2 = 3", "3", True),
        ("x=4", "3", False), ("y=2x+4", "y=2x+3", False), ("x^2+y^2=2", "x^2+y^2=1", False),
        ("y = x", "y = -x", False),
    ],
    "sets (find all)": [
        ("1, 2, 3", "3, 2, 1", True), (r"\{1,2,3\}", "2, 1, 3", True), ("x=1, x=2", "1, 2", True),
        (r"x = 1 \text{ or } x = 2", r"\{1, 2\}", True), (r"-1, \frac12", r"\frac{1}{2}, -1", True),
        (r"\pm 3", "3, -3", True), (r"1 \pm \sqrt{2}", r"1+\sqrt2, 1-\sqrt2", True),
        ("1, 2", "1, 2, 3", False), ("1, 2, 3, 4", "1, 2, 3", False), ("3", r"\pm 3", False),
        ("10, 4, 2", "4, 12, 2", False), ("1", r"\{1, 2\}", False),
    ],
    "ordered tuples": [
        ("(1, 2)", r"\left(1,2\right)", True), (r"(3, \frac{\pi}{2})", r"\left( 3, \frac{\pi}{2} \right)", True),
        ("(1,8,19), (2,7,13)", "(2,7,13), (1,8,19)", True), (r"\langle 1, 2 \rangle", "(1, 2)", True),
        ("(2, 1)", "(1, 2)", False), ("(1, 2, 3)", "(1, 2)", False), ("(1,8,19)", "(1,8,19), (2,7,13)", False),
    ],
    "intervals": [
        ("[1, 2)", r"\left[1, 2\right)", True), (r"(-\infty, 3]", r"x \le 3", True),
        (r"-2 < x \le 5", "(-2, 5]", True), (r"(-\infty, 1) \cup (2, \infty)", r"(2, \infty) \cup (-\infty, 1)", True),
        (r"x < 1 \text{ or } x > 2", r"(-\infty,1)\cup(2,\infty)", True), (r"x \ge 0", r"[0, \infty)", True),
        (r"x \in [0, 1]", "[0, 1]", True),
        ("(1, 2]", "[1, 2]", False), (r"(-\infty, 3)", r"x \le 3", False), ("[1, 3)", "[1, 2)", False),
        (r"(-\infty, 1)", r"(-\infty,1)\cup(2,\infty)", False),
    ],
    "matrices and vectors": [
        (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", r"\begin{bmatrix}1&2\\3&4\end{bmatrix}", True),
        (r"\begin{pmatrix} 1/2 \\ 3 \end{pmatrix}", r"\begin{pmatrix} \frac12 \\ 3 \end{pmatrix}", True),
        (r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", "(1, 2)", True),
        (r"\begin{pmatrix} 2 & 1 \\ 3 & 4 \end{pmatrix}", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", False),
        (r"\begin{pmatrix} 1 & 2 \end{pmatrix}", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", False),
        (r"\begin{pmatrix} 1 \\ 3 \end{pmatrix}", "(1, 2)", False),
    ],
    "complex numbers": [
        ("3+4i", "4i+3", True), ("i^2", "-1", True), (r"\frac{1+i}{2}", "0.5+0.5i", True),
        (r"e^{i\pi}", "-1", True), ("3-4i", "3+4i", False), ("4+3i", "3+4i", False), ("i", "1", False),
    ],
    "percent, degrees and units": [
        (r"10\%", "10", True), ("10", r"10\%", True), ("0.1", r"10\%", True), ("12.5%", r"12.5\%", True),
        (r"30^\circ", "30", True), ("30", r"30^{\circ}", True), (r"\frac{\pi}{6}", r"30^\circ", True),
        (r"5 \text{ cm}", "5", True), ("5", r"5\mbox{ cm}^2", True), (r"\$42", "42", True),
        ("18 dollars", "18", True), (r"6\ \text{inches}", "6", True),
        (r"11\%", "10", False), ("1", "100", False), ("0.1", "10", False), (r"31^\circ", "30", False),
        (r"\frac{\pi}{6}", "30", False), (r"6 \text{ cm}", "5", False),
    ],
    "number formats": [
        ("1,000", "1000", True), (r"1{,}000{,}000", "1000000", True), ("1.5e3", "1500", True),
        (r"1.5\times10^3", "1500", True), (r"1.5 \cdot 10^{3}", "1.5e3", True), ("3.83e35", r"3.83 \times 10^{35}", True),
        (r"1\frac14", r"\frac54", True), ("1 1/4", "1.25", True), (r"2\frac{1}{2}", "2.5", True),
        (r"0.\overline{3}", r"\frac13", True),
        (r"1.5 \cdot e \cdot 3", "1.5e3", False), ("1.5e4", "1500", False), ("1 1/4", r"\frac14", False),
        ("1,000", "1", False), ("6.2e-5", "6.2e-4", False),
    ],
    "plus-minus and bases": [
        (r"\pm\sqrt{2}", r"\sqrt2, -\sqrt2", True), (r"x = \pm 2", "2, -2", True),
        ("1011_2", "1011", True), ("40_9", "36", True), ("40_{10}", "40_9", False), ("40_10", "40_9", False), ("1011", "1011_2", True), ("13_{8}", "1011_2", True), ("11_{10}", "1011_2", True),
        (r"\pm 2", "2", False), ("11", "1011_2", False), ("1010_2", "1011_2", False), ("1011_3", "1011_2", False),
    ],
    "text and choices": [
        ("Evelyn", r"\text{Evelyn}", True), (r"\text{evelyn}", "Evelyn", True), ("Monday", r"\text{monday}", True),
        ("(C)", r"\text{(C)}", True), ("C", "(C)", True), (r"\textbf{(B)}", "(B)", True),
        ("B, A", r"\text{A, B}", True), ("no solution", r"\text{No solution}", True),
        ("Evelin", r"\text{Evelyn}", False), ("(D)", r"\text{(C)}", False), ("Tuesday", "Monday", False),
        ("A", r"\text{A, B}", False), ("c", "C", False),
    ],
    "typesetting noise": [
        (r"\left( \frac{1}{2} \right)", r"\frac12", True), (r"\dfrac{9}{7}", r"\frac{9}{7}", True),
        (r"1\!000", "1000", True), (r"\frac{1}{\,2\,}", "0.5", True), (r"\displaystyle \frac{3}{4}", "0.75", True),
        (r"$\frac{3}{4}$", "0.75", True), (r"\boxed{7}", "7", True), (r"\left\{ 1, 2 \right\}", "1, 2", True),
        (r"\left( \frac{1}{3} \right)", r"\frac12", False), (r"\dfrac{7}{9}", r"\frac{9}{7}", False),
    ],
}  # fmt: skip

#: math-verify 0.9 accepts these (or the like); none may pass here.
KNOWN_FALSE_POSITIVES = [
    (r"\frac{1}{2006!}", r"\frac{1}{2004!}"),
    (r"\frac{1}{2^{98}}", r"\frac{1}{2^{99}}"),
    (r"1+\frac{1}{e}", r"1-\frac{1}{e}"),
    (r"\{1, 2\}", r"\{1, 2, 3\}"),
    ("1, 2", "1, 2, 3"),
    ("a", "A"),
    (r"1.5 \cdot e \cdot 3", "1.5e3"),
    ("10, 4, 2", "4, 12, 2"),
    (r"1, 2, \ldots, 9", r"1, 2, \ldots, 10"),
    ("1", "100"),
    # A variable the gold lacks, which cancels: garbage a tiny RL policy writes (le0 = l*e*0).
    ("le0", "0"),
    ("x0", "0"),
    ("a-a", "0"),
]
