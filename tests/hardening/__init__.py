"""Issue 15: the fuzz test, the authorization matrix and the real-fault tests, with what they share.

`FIGURES` collects the counts each of them reports (fuzz cases run, route x role probes, faults
survived); tests/conftest.py prints them at the end of the run."""

FIGURES: dict[str, int] = {}


def count(name: str, n: int = 1) -> None:
    FIGURES[name] = FIGURES.get(name, 0) + n
