"""Write slack_rtm-stubs/__init__.pyi from the annotations in slack_rtm.py.

    python tools/make_stubs.py            # write the stub
    python tools/make_stubs.py --check    # exit 1 if the stub is not what slack_rtm.py gives

PEP 561 finds the types of an installed *package* through its py.typed
marker, and says nothing of a single-file module: a user's mypy stops at
"import-untyped" however well slack_rtm.py is annotated.  What it does find
for a module is a stub-only package beside it, ``slack_rtm-stubs``, so the
distribution ships one, made here from the module's own annotations and
nothing else: every signature is copied as written, every body becomes
``...``.  The stub is the public API (the names without a leading
underscore, and the private ones those names' annotations refer to); a
public name whose type the stub cannot say is an error here, not an
``Any`` there.  The stub is generated, never edited, and a test checks that
it is what this script makes of the module as it stands.
"""

import argparse
import ast
import importlib.util
import os
import sys
from typing import Dict, Iterable, Iterator, List, Optional, Set

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SOURCE = os.path.join(ROOT, "slack_rtm.py")
STUB = os.path.join(ROOT, "slack_rtm-stubs", "__init__.pyi")

HEADER = ("# Generated from slack_rtm.py by tools/make_stubs.py: do not edit.\n"
          "# The types of slack_rtm for a user's type checker (PEP 561 stub-only package).\n")

#: Literal values whose type a stub can say without an annotation.
LITERALS = (bool, int, float, str, bytes)
#: Decorators a stub keeps as they are (the others are the module's own,
#: kept when they are themselves typed, or refused).
DECORATORS = {"property", "staticmethod", "classmethod", "overload", "dataclass", "dataclass_transform",
              "functools.wraps", "functools.lru_cache"}


class StubError(Exception):
    """slack_rtm.py has something the stub cannot carry."""


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def explains_misuse(node: ast.FunctionDef) -> bool:
    """A special method that only raises (``-> NoReturn``), to explain a
    misuse at run time, such as ``RtmStart.__call__``: left out of the stub,
    so that a type checker still reports the misuse."""
    return node.name.startswith("__") and node.name.endswith("__") and ast.unparse(node.returns or
                                                                                    ast.Constant(None)) == "NoReturn"


def is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def public_self_attribute(node: ast.AST) -> Optional[str]:
    """The name of a public ``self.name`` (a declaration's target), or None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        if not node.attr.startswith("_"):
            return node.attr
    return None


def is_main(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) == "__name__ == '__main__'"


def is_version_check(node: ast.stmt) -> bool:
    """``if sys.version_info < (3, 9):`` (an older Python is sent away):
    dead code for a type checker of 3.9 or newer, and nothing in the stub."""
    return isinstance(node, ast.If) and ast.unparse(node.test).startswith("sys.version_info < ")


def literal_type(value: ast.expr) -> Optional[str]:
    """The type of a value that is a literal, or arithmetic on literals."""
    try:
        obj = eval(compile(ast.Expression(value), "<stub>", "eval"), {"__builtins__": {}})
    except Exception:
        return None
    return type(obj).__name__ if type(obj) in LITERALS else None


def names_in(node: Optional[ast.AST]) -> Set[str]:
    """The top-level names an annotation (or a base, a decorator) uses,
    string annotations included."""
    found: Set[str] = set()
    if node is None:
        return found
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            try:
                found |= names_in(ast.parse(sub.value, mode="eval"))
            except SyntaxError:
                pass
    return found


def unquote(node: Optional[ast.expr]) -> str:
    """An annotation as a stub writes it: forward references need no quotes."""
    assert node is not None

    class Unquote(ast.NodeTransformer):
        def visit_Subscript(self, sub: ast.Subscript) -> ast.AST:
            if ast.unparse(sub.value).split(".")[-1] in ("Literal", "Annotated"):
                return sub                               # its strings are values, not forward references
            return self.generic_visit(sub)

        def visit_Constant(self, const: ast.Constant) -> ast.AST:
            if isinstance(const.value, str):
                try:
                    return ast.parse(const.value, mode="eval").body
                except SyntaxError:
                    pass
            return const

    return ast.unparse(Unquote().visit(ast.parse(ast.unparse(node), mode="eval")).body)


def default(node: ast.expr) -> str:
    """A default as a stub writes it: a simple literal as it is, else ``...``."""
    if isinstance(node, ast.Constant) and (node.value is None or type(node.value) in LITERALS) \
            and len(repr(node.value)) <= 40:
        return ast.unparse(node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return ast.unparse(node)
    return "..."


class Stubber:
    def __init__(self, tree: ast.Module, exported: List[str]) -> None:
        self.tree = tree
        # "# type: ignore[code]" by line: a declaration's goes with it into the stub.
        self.ignores = {ignore.lineno: ignore.tag for ignore in tree.type_ignores}
        self.exported = exported
        self.wanted: Set[str] = set()          # private names the public ones refer to
        # What type checkers see: an ``if TYPE_CHECKING:`` body stands for
        # its ``else:`` (which is what runs).
        self.body: List[ast.stmt] = []
        for node in tree.body:
            if is_type_checking(node):
                assert isinstance(node, ast.If)
                self.body.extend(node.body)
            elif is_version_check(node):
                continue
            elif isinstance(node, (ast.If, ast.Try, ast.For, ast.While, ast.With)) and not is_main(node):
                raise StubError(f"the stub does not know a module-level {type(node).__name__} (line {node.lineno})")
            elif not is_main(node):
                self.body.append(node)
        self.top: Dict[str, ast.stmt] = {}
        for node in self.body:
            for name in self.bound(node):
                self.top.setdefault(name, node)

    @staticmethod
    def bound(node: ast.stmt) -> List[str]:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            return [node.name]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            return [node.target.id]
        if isinstance(node, ast.Assign):
            out = []
            for target in node.targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        out.append(sub.id)
            return out
        return []

    def refer(self, *nodes: Optional[ast.AST]) -> None:
        for node in nodes:
            self.wanted |= {name for name in names_in(node) if is_private(name) and name in self.top}

    # -- functions ----------------------------------------------------------

    def decorators(self, node: ast.FunctionDef, where: str) -> Iterator[str]:
        for deco in node.decorator_list:
            text = ast.unparse(deco)
            head = text.split("(")[0]
            if head in DECORATORS or head.endswith((".setter", ".deleter")):
                yield "@" + text
            elif head in self.top and isinstance(self.top[head], ast.FunctionDef):
                self.refer(deco)
                yield "@" + text
            else:
                raise StubError(f"{where}: the stub does not know decorator @{text}")

    def function(self, node: ast.FunctionDef, indent: str, where: str, method: bool) -> List[str]:
        where = f"{where}{node.name}"
        lines = [indent + d for d in self.decorators(node, where)]
        args = node.args
        plain = args.posonlyargs + args.args
        firsts = 1 if method and "staticmethod" not in {ast.unparse(d) for d in node.decorator_list} else 0
        parts: List[str] = []
        defaults = [None] * (len(plain) - len(args.defaults)) + list(args.defaults)

        def param(arg: ast.arg, value: Optional[ast.expr], star: str = "") -> str:
            if arg.annotation is None:
                raise StubError(f"{where}: parameter {arg.arg} has no annotation")
            self.refer(arg.annotation)
            text = f"{star}{arg.arg}: {unquote(arg.annotation)}"
            return text + (f" = {default(value)}" if value is not None else "")

        for i, (arg, value) in enumerate(zip(plain, defaults)):
            if i < firsts and arg.annotation is None:
                parts.append(arg.arg)
            else:
                parts.append(param(arg, value))
            if args.posonlyargs and i == len(args.posonlyargs) - 1:
                parts.append("/")
        if args.vararg:
            parts.append(param(args.vararg, None, "*"))
        elif args.kwonlyargs:
            parts.append("*")
        for arg, value in zip(args.kwonlyargs, args.kw_defaults):
            parts.append(param(arg, value))
        if args.kwarg:
            parts.append(param(args.kwarg, None, "**"))
        if node.returns is None:
            raise StubError(f"{where}: no return annotation")
        self.refer(node.returns)
        first = node.body[0].lineno if node.body else node.lineno + 1
        lines.append(f"{indent}def {node.name}({', '.join(parts)}) -> {unquote(node.returns)}: ..."
                     + self.ignored(range(node.lineno, first)))
        return lines

    def ignored(self, lines: Iterable[int]) -> str:
        tags = [self.ignores[n] for n in lines if n in self.ignores]
        return f"  # type: ignore{tags[0]}" if tags else ""

    @staticmethod
    def implementations(body: List[ast.stmt]) -> Set[int]:
        """The ids of the functions that implement overloads (not in a stub)."""
        overloaded = {n.name for n in body if isinstance(n, ast.FunctionDef)
                      and any(ast.unparse(d) == "overload" for d in n.decorator_list)}
        return {id(n) for n in body if isinstance(n, ast.FunctionDef) and n.name in overloaded
                and not any(ast.unparse(d) == "overload" for d in n.decorator_list)}

    # -- classes ------------------------------------------------------------

    def declared(self, node: ast.ClassDef) -> Set[str]:
        """The names a class and its bases in the module declare at class level."""
        names: Set[str] = set()
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                names.add(item.target.id)
            elif isinstance(item, (ast.FunctionDef, ast.ClassDef)):
                names.add(item.name)
            elif isinstance(item, ast.Assign):
                names.update(self.bound(item))
        for base in node.bases:
            parent = self.top.get(ast.unparse(base))
            if isinstance(parent, ast.ClassDef) and parent is not node:
                names |= self.declared(parent)
        return names

    def klass(self, node: ast.ClassDef, indent: str) -> List[str]:
        where = f"{node.name}."
        lines: List[str] = []
        for deco in node.decorator_list:
            text = ast.unparse(deco)
            head = text.split("(")[0]
            if head not in DECORATORS and not (head in self.top and isinstance(self.top[head], ast.FunctionDef)):
                raise StubError(f"class {node.name}: the stub does not know decorator @{text}")
            self.refer(deco)
            lines.append(f"{indent}@{text}")
        self.refer(*node.bases, *(k.value for k in node.keywords))
        bases = [unquote(b) for b in node.bases] + [f"{k.arg}={ast.unparse(k.value)}" for k in node.keywords]
        lines.append(f"{indent}class {node.name}" + (f"({', '.join(bases)})" if bases else "") + ":")
        inner = indent + "    "
        body: List[str] = []
        declared = self.declared(node)
        methods = [item for item in node.body if isinstance(item, ast.FunctionDef)]
        # What the methods declare with ``self.name: T = ...``.
        for method in methods:
            for sub in ast.walk(method):
                name = public_self_attribute(sub.target) if isinstance(sub, ast.AnnAssign) else None
                if isinstance(sub, ast.AnnAssign) and name is not None and name not in declared:
                    self.refer(sub.annotation)
                    body.append(f"{inner}{name}: {unquote(sub.annotation)}")
                    declared.add(name)
        # A public attribute the methods set and nothing declares has a type
        # only mypy's inference knows: the stub would have to guess.
        for method in methods:
            for sub in ast.walk(method):
                targets = sub.targets if isinstance(sub, ast.Assign) else (
                    [sub.target] if isinstance(sub, (ast.AugAssign, ast.AnnAssign, ast.For)) else [])
                for target in targets:
                    for part in ast.walk(target):
                        name = public_self_attribute(part)
                        if name is not None and name not in declared:
                            raise StubError(f"{where}{name} is set but not annotated")
        skip = self.implementations(node.body)
        for item in node.body:
            if isinstance(item, (ast.Expr, ast.Pass)):
                continue
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                if is_private(item.target.id):
                    continue
                self.refer(item.annotation)
                value = " = ..." if item.value is not None else ""
                body.append(f"{inner}{item.target.id}: {unquote(item.annotation)}{value}"
                            + self.ignored([item.lineno]))
            elif isinstance(item, ast.Assign):
                for name in self.bound(item):
                    if is_private(name) or name == "__slots__":
                        continue
                    kind = literal_type(item.value)
                    if kind is None:
                        raise StubError(f"{where}{name} needs an annotation")
                    body.append(f"{inner}{name}: {kind}")
            elif isinstance(item, ast.FunctionDef):
                if is_private(item.name) or id(item) in skip or explains_misuse(item):
                    continue
                body.extend(self.function(item, inner, where, method=True))
            elif isinstance(item, ast.ClassDef):
                if is_private(item.name):
                    continue
                body.extend(self.klass(item, inner))
            else:
                raise StubError(f"class {node.name}: the stub does not know {type(item).__name__} at line "
                                f"{item.lineno}")
        return lines + (body or [inner + "..."])

    # -- the module ---------------------------------------------------------

    def statement(self, node: ast.stmt) -> List[str]:
        if isinstance(node, ast.FunctionDef):
            return self.function(node, "", "", method=False)
        if isinstance(node, ast.ClassDef):
            return self.klass(node, "")
        if isinstance(node, ast.AnnAssign):
            self.refer(node.annotation)
            return [f"{ast.unparse(node.target)}: {unquote(node.annotation)}"]
        assert isinstance(node, ast.Assign)
        names = [name for name in self.bound(node) if not is_private(name) or name in self.wanted]
        annotated = {n.target.id for n in self.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
        if set(names) <= annotated:                      # declared already, with its type
            return []
        kind = literal_type(node.value) if len(self.bound(node)) == 1 else None
        if kind is not None:
            return [f"{names[0]}: {kind}"]
        if isinstance(node.value, ast.Tuple) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Tuple):
            kinds = [literal_type(v) for v in node.value.elts]
            if None not in kinds and len(kinds) == len(node.targets[0].elts):
                pairs = zip([ast.unparse(t) for t in node.targets[0].elts], kinds)
                return [f"{name}: {k}" for name, k in pairs if name in names]
        # A type alias, a TypeVar or another name for a class: as it is.
        if isinstance(node.value, (ast.Subscript, ast.Name, ast.Attribute)) or (
                isinstance(node.value, ast.Call) and ast.unparse(node.value.func) in ("TypeVar", "ParamSpec")):
            self.refer(node.value)
            return [ast.unparse(node)]
        raise StubError(f"{', '.join(names)} (line {node.lineno}) needs an annotation")

    def imports(self, used: Set[str]) -> List[str]:
        """The module's imports (type-only ones included) that the stub uses."""
        plain: List[str] = []
        froms: Dict[str, List[str]] = {}
        for node in self.body:
            if isinstance(node, ast.Import):
                plain += [a.name for a in node.names if a.asname is None and a.name.split(".")[0] in used]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    if (a.asname or a.name) in used and a.asname is None:
                        froms.setdefault(node.module, []).append(a.name)
        lines = [f"import {name}" for name in sorted(set(plain))]
        lines += [f"from {module} import {', '.join(sorted(set(names)))}" for module, names in sorted(froms.items())]
        return lines

    def render(self) -> str:
        skip = self.implementations(self.body)
        public = [node for node in self.body if id(node) not in skip
                  if any(not is_private(name) for name in self.bound(node))
                  and not (isinstance(node, ast.Assign) and self.bound(node) in (["__all__"],))]
        chunks: Dict[int, List[str]] = {}
        for node in public:
            chunks[id(node)] = self.statement(node)
        done: Set[str] = set()
        while self.wanted - done:                       # what the public names refer to
            for name in sorted(self.wanted - done):
                done.add(name)
                node = self.top[name]
                if id(node) not in chunks:
                    chunks[id(node)] = self.statement(node)
        ordered = [chunks[id(node)] for node in self.body if id(node) in chunks]
        out = ["__all__ = [\n" + "".join(f"    {name!r},\n" for name in self.exported) + "]", ""]
        for lines in ordered:
            if any(line.startswith(("class ", "def ", "@")) for line in lines):
                out.extend(["", *lines, ""])
            else:
                out.extend(lines)
        used = {sub.id for sub in ast.walk(ast.parse("\n".join(out)))
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)}
        text = "\n".join([HEADER, *self.imports(used), "", *out])
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
        return text.strip() + "\n"


def make(source: str = SOURCE) -> str:
    with open(source, encoding="utf-8") as f:
        text = f.read()
    tree = ast.parse(text, source, type_comments=True)
    # __all__ grows at import (one error class per code): read it from the
    # module, loaded afresh from that file.
    spec = importlib.util.spec_from_file_location("slack_rtm", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exported = list(module.__all__)
    stub = Stubber(tree, exported).render()
    ast.parse(stub, STUB)
    return stub


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the stub is out of date")
    options = parser.parse_args(argv)
    try:
        stub = make()
    except StubError as e:
        print(f"make_stubs: slack_rtm.py: {e}", file=sys.stderr)
        return 1
    try:
        with open(STUB, encoding="utf-8") as f:
            current: Optional[str] = f.read()
    except FileNotFoundError:
        current = None
    if options.check:
        if current != stub:
            print(f"make_stubs: {os.path.relpath(STUB, ROOT)} is out of date: run python tools/make_stubs.py",
                  file=sys.stderr)
            return 1
        return 0
    if current != stub:
        os.makedirs(os.path.dirname(STUB), exist_ok=True)
        with open(STUB, "w", encoding="utf-8", newline="\n") as f:
            f.write(stub)
    return 0


if __name__ == "__main__":
    sys.exit(main())
