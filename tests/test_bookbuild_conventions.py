"""bookbuild.conventions: the shape of a chapter (CONTRIBUTING.md), over the chapters of the main
part of _toc.yml and on small chapters that break each rule."""

from __future__ import annotations

import pytest

import bookbuild as book
from bookbuild import conventions

MAIN_PART = "The book"


def main_chapters():
    return [c for c in book.parts()[MAIN_PART] if book.is_notebook(c)]


@pytest.mark.parametrize("chapter", main_chapters(), ids=lambda c: c.stem)
def test_learning_objectives_follow_the_title(chapter):
    problems = conventions.objectives_problems(chapter.read_text())
    assert not problems, f"{chapter.name}: " + "; ".join(problems)


@pytest.mark.parametrize("chapter", main_chapters(), ids=lambda c: c.stem)
def test_exercises_are_graded_and_one_implements(chapter):
    problems = conventions.exercise_problems(chapter.read_text())
    assert not problems, f"{chapter.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("chapter", main_chapters(), ids=lambda c: c.stem)
def test_code_in_solutions_is_executed(chapter):
    problems = conventions.solution_problems(chapter.read_text())
    assert not problems, f"{chapter.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("chapter", main_chapters(), ids=lambda c: c.stem)
def test_every_solution_ends_with_its_lesson(chapter):
    problems = conventions.lesson_problems(chapter.read_text())
    assert not problems, f"{chapter.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("chapter", book.chapters(), ids=lambda c: c.stem)
def test_no_private_nodebio_names(chapter):
    problems = conventions.private_name_problems(chapter.read_text())
    assert not problems, f"{chapter.name}:\n" + "\n".join(problems)


GOOD = """---
kernelspec:
  name: python3
---

(chapter-good)=
# A good chapter

```{admonition} Learning objectives
:class: tip

- Train a model and
  read its error.
- Explain the result.
```

## Overview

````{exercise} Predict: a parameter
:label: good-ex-1

Text.
````

````{solution} good-ex-1
:class: dropdown

Prose only, with `inline code` and a list:

- one

    indented under the list item, not code

The lesson: prose solutions end with their point.
````

````{exercise} Implement: a variant
:label: good-ex-2
````

````{solution-start} good-ex-2
:class: dropdown
````

```{code-cell} ipython3
class Mine:
    def _helper(self):
        return self._cache

    def fit(self):
        self._cache = 1
        return self._helper()
```

The lesson: so do solutions with code.

````{solution-end}
````
"""


def test_a_chapter_that_keeps_the_conventions_passes():
    assert conventions.learning_objectives(GOOD) == ["Train a model and read its error.", "Explain the result."]
    assert conventions.objectives_problems(GOOD) == []
    assert conventions.exercise_problems(GOOD) == []
    assert conventions.solution_problems(GOOD) == []
    assert conventions.lesson_problems(GOOD) == []
    assert conventions.private_name_problems(GOOD) == []


def test_a_solution_without_its_lesson_is_found():
    text = GOOD.replace("The lesson: prose solutions end with their point.", "")
    text = text.replace("The lesson: so do solutions with code.", "The numbers above.")
    problems = conventions.lesson_problems(text)
    assert len(problems) == 2, problems
    assert "solution good-ex-1" in problems[0] and "solution good-ex-2" in problems[1]
    # a lesson above the code of the solution is not at its end
    moved = GOOD.replace("The lesson: so do solutions with code.", "").replace(
        "````{solution-start} good-ex-2\n:class: dropdown\n````\n",
        "````{solution-start} good-ex-2\n:class: dropdown\n````\n\nThe lesson: too early.\n")
    assert len(conventions.lesson_problems(moved)) == 1


def test_objectives_are_plain_text():
    text = GOOD.replace("- Explain the result.", "- Explain the {term}`titer`.")
    [problem] = conventions.objectives_problems(text)
    assert "Explain the {term}`titer`." in problem and "plain text" in problem


def test_objectives_must_directly_follow_the_title():
    late = GOOD.replace("# A good chapter\n", "# A good chapter\n\nAn opening paragraph.\n")
    assert "not directly followed" in conventions.objectives_problems(late)[0]
    other = GOOD.replace("Learning objectives", "Goals")
    assert conventions.learning_objectives(other) is None
    empty = GOOD.replace("- Train a model and\n  read its error.\n- Explain the result.\n", "")
    assert conventions.objectives_problems(empty) == ["the Learning objectives admonition has no bullets"]


def test_ungraded_titles_and_a_missing_implement_exercise():
    text = GOOD.replace("Predict: a parameter", "A parameter").replace("Implement: a variant", "Measure: a variant")
    problems = conventions.exercise_problems(text)
    assert len(problems) == 2
    assert "exercise good-ex-1" in problems[0] and "'A parameter'" in problems[0]
    assert problems[1].startswith("no 'Implement:' exercise among the 2")
    untitled = GOOD.replace("{exercise} Predict: a parameter", "{exercise}")
    assert "is titled ''" in conventions.exercise_problems(untitled)[0]


def test_code_in_a_solution_block_or_not_executed_is_found():
    fenced = GOOD.replace("Prose only, with `inline code` and a list:",
                          "Prose.\n\n```python\nx = 1\n```\n")
    assert "solution good-ex-1" in conventions.solution_problems(fenced)[0]
    indented = GOOD.replace("Prose only, with `inline code` and a list:", "Prose.\n\n    x = 1\n")
    assert "holds code" in conventions.solution_problems(indented)[0]
    cell = GOOD.replace("Prose only, with `inline code` and a list:", "```{code-cell} ipython3\nx = 1\n```\n")
    assert "holds code" in conventions.solution_problems(cell)[0]
    between = GOOD.replace("````{solution-end}", "```python\ny = 2\n```\n\n````{solution-end}")
    [problem] = conventions.solution_problems(between)
    assert "solution good-ex-2" in problem and "not executed" in problem
    unclosed = GOOD.replace("````{solution-end}\n````\n", "")
    assert "has no solution-end" in conventions.solution_problems(unclosed)[0]


def test_private_nodebio_names_are_found():
    def cell(code):
        return GOOD + f"\n```{{code-cell}} ipython3\n{code}\n```\n"

    assert "nodebio.models._sbml" in conventions.private_name_problems(cell("import nodebio.models._sbml"))[0]
    assert "import _LAST" in conventions.private_name_problems(cell("from nodebio.store import _LAST"))[0]
    assert "`._on_grid`" in conventions.private_name_problems(cell("model._on_grid(u, t)"))[0]
    prose = GOOD + "\nSee `nodebio.data._helpers` for details.\n"
    assert "nodebio.data._helpers" in conventions.private_name_problems(prose)[0]
    assert conventions.private_name_problems(cell("_ = model.fit(x)\nmodel.__class__")) == []
