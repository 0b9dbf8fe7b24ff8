"""FHIR R4 checked strictly, offline: the official JSON schema (R4 4.0.1), every invariant of
the resources and data types used (their FHIRPath evaluated with fhirpathpy), and the codes
of every element R4 binds "required" to a value set. The definitions are in
tests/fixtures/fhir-r4 (extract.py says where they come from)."""

import copy
import gzip
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import fhirpathpy
import jsonschema
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models

_HERE = Path(__file__).parent / "fixtures" / "fhir-r4"
# ele-1 ("has a value or children") needs a typed model to tell primitives from elements;
# the JSON schema forbids the empty objects and strings it guards against
_SKIPPED = {"ele-1"}
_XHTML = "{http://www.w3.org/1999/xhtml}"


def _has_value(inputs: list[Any]) -> bool:
    """FHIRPath hasValue(), which fhirpathpy lacks: a single primitive value."""
    return len(inputs) == 1 and isinstance(inputs[0], str | int | float | bool)


def _html_checks(inputs: list[Any]) -> bool:
    """FHIRPath htmlChecks() (txt-1, txt-2), which fhirpathpy lacks: an XHTML div, no
    script, no event handlers, with some text."""
    try:
        div = ET.fromstring(inputs[0])
    except (ET.ParseError, IndexError, TypeError):
        return False
    return (
        div.tag == f"{_XHTML}div"
        and not any(e.tag in (f"{_XHTML}script", f"{_XHTML}object") for e in div.iter())
        and not any(a.startswith("on") for e in div.iter() for a in e.attrib)
        and bool("".join(div.itertext()).strip())
    )


_FUNCTIONS = {
    "hasValue": {"fn": _has_value, "arity": {0: []}},
    "htmlChecks": {"fn": _html_checks, "arity": {0: []}},
}


@cache
def _expression(text: str) -> str:
    """An R4 invariant as fhirpathpy runs it: R4's FHIRPath let `as()` filter a collection
    (dom-3), as `ofType()` does now; `trace()` only prints."""
    return re.sub(r"\.trace\('[^']*'(, \w+)?\)", "", text.replace(".as(", ".ofType("))


@cache
def _compiled(expression: str) -> Callable[[Any, dict[str, Any]], list[Any]]:
    options = {"userInvocationTable": _FUNCTIONS}
    return fhirpathpy.compile(_expression(expression), models["r4"], options)


def _evaluate(node: Any, base: str, expression: str, env: dict[str, Any]) -> list[Any]:
    """`expression` on `node`, typed as `base` (a type, or a backbone element's path), so that
    choice elements (value[x]) resolve."""
    return _compiled(expression)(ResourceNode.create_node(node, base), env)


def _present(node: Any, relative: str, choice: bool) -> bool:
    """Whether the element's first step is in `node` at all: most of a definition is absent
    from any one resource, and evaluating nothing is slow."""
    first = relative.split(".", 1)[0]
    if not isinstance(node, dict):
        return False
    if choice and "." not in relative:
        return any(k.startswith(first) and k[len(first) : len(first) + 1].isupper() for k in node)
    return first in node


def _type_of(element: dict[str, Any]) -> str | None:
    """The one complex type an element holds (or its own path, for a backbone element)."""
    types = element["types"]
    if types in (["BackboneElement"], ["Element"]) or (not types and "." in element["path"]):
        return element["path"]
    return types[0] if len(types) == 1 and types[0] in _rules() else None


@cache
def _official_schema() -> dict[str, Any]:
    return json.loads(gzip.decompress((_HERE / "fhir.schema.json.gz").read_bytes()))


@cache
def _schema(kind: str) -> jsonschema.Draft6Validator:
    """The official schema, for one resource type: the whole schema tries every one of its 146
    types on each resource (minutes for a month's export); a draft-6 $ref overrides that."""
    return jsonschema.Draft6Validator({**_official_schema(), "$ref": f"#/definitions/{kind}"})


def _schema_errors(resource: dict[str, Any], where: str) -> list[str]:
    """The resource against its type's schema; a Bundle's entries each against their own."""
    shell = resource
    if "entry" in resource:  # each entry's resource is checked on its own below
        shell = {
            **resource,
            "entry": [{**e, "resource": {"resourceType": "Parameters"}} for e in resource["entry"]],
        }
    return [
        f"{where}: schema: {'/'.join(map(str, e.absolute_path))}: {e.message:.200}"
        for e in _schema(resource["resourceType"]).iter_errors(shell)
    ]


@cache
def _rules() -> dict[str, list[dict[str, Any]]]:
    return json.loads((_HERE / "r4-rules.json").read_text())


def _codes_of(value: Any) -> list[tuple[str | None, str]]:
    if isinstance(value, str):
        return [(None, value)]
    if "coding" in value:
        return [(c.get("system"), c["code"]) for c in value["coding"] if "code" in c]
    return [(value.get("system"), value["code"])] if "code" in value else []


def _check(
    node: Any,
    kind: str,
    base: str,
    path: str,
    env: dict[str, Any],
    errors: list[str],
    depth: int = 0,
) -> None:
    """The invariants and required codes of type `kind` on `node` (an instance of it, reached
    at `path` in the resource), then of each of its elements that is present."""
    for element in _rules()[kind]:
        relative = element["path"].split(".", 1)[1] if "." in element["path"] else None
        choice = element["path"].endswith("[x]")
        if relative and choice:
            relative = relative[:-3]
        if relative and not _present(node, relative, choice):
            continue
        where = f"{path}.{relative}" if relative else path
        values = _evaluate(node, base, relative, env) if relative else [node]
        kind_of_value = _type_of(element) if relative else base
        if not values:
            continue
        for rule in element["constraints"]:
            if rule["severity"] != "error" or rule["key"] in _SKIPPED:
                continue
            for value in values:
                try:
                    holds = _evaluate(value, kind_of_value or base, rule["expression"], env)
                    holds = holds in ([True], [])  # empty: nothing to check, as HL7's validator
                except Exception as e:  # an expression fhirpathpy cannot run is a failure too
                    errors.append(f"{where}: {rule['key']} not evaluated: {e!s:.120}")
                    continue
                if not holds:
                    errors.append(f"{where}: {rule['key']} {rule['human']}")
        if element["codes"] is not None:
            for value in values:
                for system, code in _codes_of(value):
                    allowed = element["codes"]
                    ok = any(
                        (system in (None, s)) and ("*" in codes or code in codes)
                        for s, codes in allowed.items()
                    )
                    if not ok:
                        errors.append(f"{where}: code {system}|{code} is not in its value set")
        types = [t for t in element["types"] if t in _rules()]
        if relative and len(types) == 1 and depth < 6:
            for value in values:
                if isinstance(value, dict):
                    _check(value, types[0], types[0], where, env, errors, depth + 1)


def r4_errors(resource: dict[str, Any]) -> list[str]:
    """Every way `resource` (a Bundle, or any resource) breaks FHIR R4; [] when it is valid."""
    resource = copy.deepcopy(resource)  # fhirpathpy writes type information into what it reads
    errors: list[str] = []

    def walk(r: dict[str, Any], path: str) -> None:
        errors.extend(_schema_errors(r, path))
        env = {"resource": r, "rootResource": r}
        _check(r, r["resourceType"], r["resourceType"], path, env, errors)
        for i, contained in enumerate(r.get("contained", [])):
            walk(contained, f"{path}.contained[{i}]")
        for i, entry in enumerate(r.get("entry", [])):
            walk(entry["resource"], f"entry[{i}]:{entry['resource']['resourceType']}")

    walk(resource, resource["resourceType"])
    return errors
