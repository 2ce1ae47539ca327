"""ASL900 syntax-error."""

from __future__ import annotations

from asynclint.rule import Invalid, Rule


class SyntaxErrorRule(Rule):
    """
    ## What it does
    Reports a file that cannot be checked because it cannot be decoded (a wrong or unknown
    encoding, a NUL byte), does not parse, or nests too deeply for the parser. The message
    says why and the position says where; every other file of the run is still checked.

    ## Why is this bad?
    A file that asynclint cannot parse is a file none of its rules looked at: a silent gap
    in the coverage of a check that otherwise passes.

    ## Example
    ```python
    async def handler(request:
        ...
    ```

    ## Use instead
    ```python
    async def handler(request):
        ...
    ```

    ## Fix safety
    There is no automatic fix. The finding cannot be suppressed with `# noqa` (the comment
    may not even be readable); use `ignore` or `per-file-ignores` to skip such files.

    ## Options
    None.
    """

    code = "ASL900"
    name = "syntax-error"
    message = "the file could not be parsed"
    suppressible = False

    examples = (
        Invalid("async def handler(request:  # error: ASL900"),
        Invalid(
            """
            import asyncio

            async def main():
                await asyncio.sleep(1))  # error: ASL900@27
            """
        ),
    )
