"""Tokenizer and parser for the SOQL subset the sandbox answers (AST only, no data).

The subset: `SELECT f1, f2 | COUNT() FROM Obj [WHERE …] [ORDER BY …] [LIMIT n] [OFFSET n]`.
Anything else is refused with MALFORMED_QUERY rather than guessed at: a sandbox that
silently answers a query Salesforce would reject (or answers it differently) hides bugs.
Error messages follow Salesforce's layout (query line, caret, `ERROR at Row:…:Column:…`),
see docs/crm-wire.md §A3.
Grammar reference: developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/
sforce_api_calls_soql_select.htm (and …_select_logicaloperators.htm: "Parentheses are
required whenever you mix the operators" AND / OR).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.salesforce.soql_lex import SoqlError, Token, located, tokenize

COMPARE_OPS = {"=", "!=", "<>", "<", ">", "<=", ">="}
# Clauses and operators that exist in SOQL but not in the sandbox's subset.
UNSUPPORTED = {
    "GROUP": "GROUP BY",
    "HAVING": "HAVING",
    "WITH": "WITH",
    "USING": "USING SCOPE",
    "FOR": "FOR VIEW/REFERENCE/UPDATE",
    "TYPEOF": "TYPEOF",
    "INCLUDES": "INCLUDES",
    "EXCLUDES": "EXCLUDES",
    "UPDATE": "UPDATE TRACKING/VIEWSTAT",
}


@dataclass(frozen=True)
class FieldRef:
    name: str
    tok: Token


@dataclass(frozen=True)
class Literal:
    kind: str  # string | number | date | datetime | boolean | null
    value: Any
    tok: Token


@dataclass(frozen=True)
class Compare:
    field: FieldRef
    op: str  # = != < > <= >= LIKE IN NOTIN
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Logical:
    op: str  # AND | OR | NOT
    parts: tuple[Any, ...]


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass
class SelectStmt:
    text: str
    fields: list[FieldRef]
    count_only: bool
    sobject: Token
    where: Any = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    offset_tok: Token | None = None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    # --- token helpers -----------------------------------------------------------------
    @property
    def cur(self) -> Token:
        return self.toks[self.i]

    def kw(self, *words: str) -> bool:
        return self.cur.kind == "ident" and self.cur.upper in words

    def advance(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect_kw(self, word: str) -> Token:
        if not self.kw(word):
            raise self.unexpected()
        return self.advance()

    def expect_punct(self, p: str) -> Token:
        if self.cur.kind != "punct" or self.cur.text != p:
            raise self.unexpected()
        return self.advance()

    def unexpected(self, tok: Token | None = None) -> SoqlError:
        tok = tok or self.cur
        if tok.kind == "eof":
            return located("MALFORMED_QUERY", self.text, tok, "unexpected token: <EOF>")
        if tok.kind == "ident" and tok.upper in UNSUPPORTED:
            what = UNSUPPORTED[tok.upper]
            msg = f"unexpected token: '{tok.text}' ({what} is not supported by the sandbox)"
            return located("MALFORMED_QUERY", self.text, tok, msg)
        return located("MALFORMED_QUERY", self.text, tok, f"unexpected token: '{tok.text}'")

    # --- statement -----------------------------------------------------------------------
    def statement(self) -> SelectStmt:
        self.expect_kw("SELECT")
        fields, count_only = self.select_list()
        self.expect_kw("FROM")
        sobject = self.field_name(kind="object")
        stmt = SelectStmt(self.text, fields, count_only, sobject.tok)
        if self.kw("WHERE"):
            self.advance()
            stmt.where = self.condition()
        if self.kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            stmt.order_by = self.order_list()
        if self.kw("LIMIT"):
            self.advance()
            stmt.limit = self.integer()
        if self.kw("OFFSET"):
            stmt.offset_tok = self.advance()
            stmt.offset = self.integer()
        if self.cur.kind != "eof":
            raise self.unexpected()
        return stmt

    def select_list(self) -> tuple[list[FieldRef], bool]:
        if self.kw("COUNT") and self.toks[self.i + 1].text == "(":
            tok = self.advance()
            self.advance()
            if self.cur.text != ")":
                msg = "aggregate functions such as COUNT(field) are not supported by the sandbox"
                raise located("MALFORMED_QUERY", self.text, tok, msg)
            self.advance()
            return [], True
        fields = [self.field_name()]
        while self.cur.text == ",":
            self.advance()
            fields.append(self.field_name())
        return fields, False

    def field_name(self, kind: str = "field") -> FieldRef:
        tok = self.cur
        if tok.kind != "ident" or tok.upper in ("FROM", "WHERE", "SELECT"):
            raise self.unexpected()
        self.advance()
        if self.cur.text == "(":
            msg = f"functions such as {tok.text}() are not supported by the sandbox"
            raise located("MALFORMED_QUERY", self.text, tok, msg)
        if "." in tok.text:
            msg = f"relationship {kind} '{tok.text}' is not supported by the sandbox"
            raise located("MALFORMED_QUERY", self.text, tok, msg)
        return FieldRef(tok.text, tok)

    def integer(self) -> int:
        tok = self.cur
        if tok.kind != "number" or not re.fullmatch(r"\d+", tok.text):
            raise self.unexpected()
        self.advance()
        return int(tok.text)

    def order_list(self) -> list[OrderItem]:
        items = [self.order_item()]
        while self.cur.text == ",":
            self.advance()
            items.append(self.order_item())
        return items

    def order_item(self) -> OrderItem:
        ref = self.field_name()
        desc = False
        if self.kw("ASC", "DESC"):
            desc = self.advance().upper == "DESC"
        nulls_last = desc  # Salesforce default: ASC NULLS FIRST, DESC NULLS LAST
        if self.kw("NULLS"):
            self.advance()
            if not self.kw("FIRST", "LAST"):
                raise self.unexpected()
            nulls_last = self.advance().upper == "LAST"
        return OrderItem(ref, desc, nulls_last)

    # --- WHERE ---------------------------------------------------------------------------
    def condition(self) -> Any:
        first = self.unary()
        op: str | None = None
        parts = [first]
        while self.kw("AND", "OR"):
            tok = self.cur
            if op is not None and tok.upper != op:
                # SOQL refuses `a AND b OR c`: mixing needs parentheses.
                raise self.unexpected(tok)
            op = self.advance().upper
            parts.append(self.unary())
        return parts[0] if op is None else Logical(op, tuple(parts))

    def unary(self) -> Any:
        if self.kw("NOT"):
            self.advance()
            return Logical("NOT", (self.unary(),))
        if self.cur.text == "(" and self.cur.kind == "punct":
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Compare:
        ref = self.field_name()
        tok = self.cur
        if tok.kind == "op" and tok.text in COMPARE_OPS:
            self.advance()
            op = "!=" if tok.text == "<>" else tok.text
            return Compare(ref, op, (self.literal(),))
        if self.kw("LIKE"):
            self.advance()
            return Compare(ref, "LIKE", (self.literal(),))
        if self.kw("NOT") and self.toks[self.i + 1].upper == "IN":
            self.i += 2
            return Compare(ref, "NOTIN", self.literal_list())
        if self.kw("IN"):
            self.advance()
            return Compare(ref, "IN", self.literal_list())
        raise self.unexpected()

    def literal_list(self) -> tuple[Literal, ...]:
        self.expect_punct("(")
        if self.kw("SELECT"):
            msg = "semi-join and anti-join subqueries are not supported by the sandbox"
            raise located("MALFORMED_QUERY", self.text, self.cur, msg)
        values = [self.literal()]
        while self.cur.text == ",":
            self.advance()
            values.append(self.literal())
        self.expect_punct(")")
        return tuple(values)

    def literal(self) -> Literal:
        tok = self.cur
        if tok.kind in ("string", "number", "date", "datetime"):
            self.advance()
            return Literal(tok.kind, tok.value, tok)
        if tok.kind == "ident" and tok.upper in ("TRUE", "FALSE"):
            self.advance()
            return Literal("boolean", tok.upper == "TRUE", tok)
        if tok.kind == "ident" and tok.upper == "NULL":
            self.advance()
            return Literal("null", None, tok)
        if tok.kind == "ident":
            msg = (
                f"date literals and bind values such as {tok.text} are not supported by the sandbox"
            )
            raise located("MALFORMED_QUERY", self.text, tok, msg)
        raise self.unexpected()


def parse(text: str) -> SelectStmt:
    """Parse one SOQL statement of the supported subset; raises SoqlError otherwise."""
    if not text or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
    return _Parser(text).statement()
