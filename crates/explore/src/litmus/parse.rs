//! From text to the syntax tree of a scenario file: the pest grammar
//! (`litmus.pest`), C's operator precedence by pest's Pratt parser, and
//! errors as `file:line:column: expected …, found …`.

use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;

mod grammar {
    //! The parser pest generates from `litmus.pest` (its rules are the
    //! grammar's, documented there).
    #![allow(missing_docs)]
    /// The generated parser of `litmus.pest`.
    #[derive(pest_derive::Parser)]
    #[grammar = "litmus/litmus.pest"]
    pub(super) struct Grammar;
}
use grammar::{Grammar, Rule};

/// A place in a scenario file: line and column, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// The line, from 1.
    pub line: usize,
    /// The column (in characters), from 1.
    pub col: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

fn pos(p: &Pair<'_, Rule>) -> Pos {
    let (line, col) = p.as_span().start_pos().line_col();
    Pos { line, col }
}

/// A binary operator, C's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `|`
    BitOr,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number (decimal or 0x-hex).
    Int(u64, Pos),
    /// A string.
    Str(String, Pos),
    /// A name: a variable, a parameter or a constant.
    Var(String, Pos),
    /// Register `name` of the body on CPU `cpu` (in checks).
    Reg(usize, String, Pos),
    /// A call of a kernel operation or a helper.
    Call(String, Vec<Expr>, Pos),
    /// `!e`
    Not(Box<Expr>, Pos),
    /// `a op b`
    Bin(BinOp, Box<Expr>, Box<Expr>, Pos),
}

impl Expr {
    /// Where the expression starts.
    pub fn pos(&self) -> Pos {
        match self {
            Expr::Int(_, p)
            | Expr::Str(_, p)
            | Expr::Var(_, p)
            | Expr::Reg(_, _, p)
            | Expr::Call(_, _, p)
            | Expr::Not(_, p)
            | Expr::Bin(_, _, _, p) => *p,
        }
    }
}

/// A statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// `name = expr;`
    Let(std::sync::Arc<str>, Expr, Pos),
    /// `expr;`
    Expr(Expr),
    /// `on CONTEXT { … }`: the statements run on that process, thread or
    /// kernel thread.
    On(String, Vec<Stmt>, Pos),
    /// `if c { … } else { … }`
    If(Expr, Vec<Stmt>, Vec<Stmt>),
    /// `repeat n { … }`
    Repeat(Expr, Vec<Stmt>),
}

/// A CPU's body: `cpu N [as CONTEXT] "role" [if c] { … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    /// The hardware CPU it runs on.
    pub cpu: usize,
    /// The process or thread it runs in (a kernel thread when `None`).
    pub context: Option<(String, Pos)>,
    /// Its role, for timelines' column headings.
    pub role: String,
    /// The condition under which the body exists.
    pub cond: Option<Expr>,
    /// What it runs.
    pub stmts: Vec<Stmt>,
    /// Where it is written.
    pub pos: Pos,
}

/// A check: `exists (c);` or `forall (c);`.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// `exists` (a failure when some execution satisfies `cond`) or
    /// `forall` (a failure when one does not).
    pub exists: bool,
    /// The condition over registers and final-block variables.
    pub cond: Expr,
    /// The text as written, for failure messages.
    pub text: String,
    /// Where it is written.
    pub pos: Pos,
}

/// A scenario file's syntax tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Ast {
    /// The scenario's name.
    pub name: String,
    /// Its one-line description.
    pub title: Option<String>,
    /// Parameter defaults: name, value as written, where.
    pub defaults: Vec<(String, String, Pos)>,
    /// The set-up statements.
    pub setup: Vec<Stmt>,
    /// The CPUs' bodies in file order.
    pub bodies: Vec<Body>,
    /// What runs after a finished execution, before the checks.
    pub final_: Vec<Stmt>,
    /// The file's own checks.
    pub checks: Vec<Check>,
}

/// A rule's name in error messages.
fn rule_name(r: &Rule) -> &'static str {
    match r {
        Rule::EOI => "end of file",
        Rule::header => "`scenario NAME;`",
        Rule::name => "a scenario name",
        Rule::defaults => "`defaults`",
        Rule::setting => "a setting `name = value;`",
        Rule::value | Rule::word => "a value",
        Rule::setup => "`setup`",
        Rule::final_ => "`final`",
        Rule::cpu => "`cpu`",
        Rule::cpu_as => "`as`",
        Rule::cpu_if => "`if`",
        Rule::check | Rule::quantifier => "`exists` or `forall`",
        Rule::block => "`{`",
        Rule::on_stmt => "`on`",
        Rule::if_stmt => "`if`",
        Rule::else_block => "`else`",
        Rule::repeat_stmt => "`repeat`",
        Rule::let_stmt | Rule::expr_stmt => "a statement",
        Rule::expr => "an expression",
        Rule::not => "`!`",
        Rule::or
        | Rule::and
        | Rule::eq
        | Rule::ne
        | Rule::le
        | Rule::ge
        | Rule::shl
        | Rule::shr
        | Rule::lt
        | Rule::gt
        | Rule::bitor
        | Rule::add
        | Rule::sub
        | Rule::mul => "an operator",
        Rule::call => "a call",
        Rule::reg => "a register CPU:NAME",
        Rule::keyword => "a keyword",
        Rule::ident => "a name",
        Rule::int => "a number",
        Rule::string | Rule::inner => "a string in double quotes",
        Rule::item => "`defaults`, `setup`, `cpu`, `final`, `exists` or `forall`",
        Rule::stmt => "a statement",
        Rule::prefix | Rule::infix | Rule::primary => "an expression",
        Rule::file | Rule::WHITESPACE | Rule::COMMENT => "a scenario",
    }
}

/// What the text holds at byte `at`: a word, a character, or the end.
fn found(text: &str, at: usize) -> String {
    let rest = &text[at.min(text.len())..];
    let Some(c) = rest.chars().next() else {
        return "the end of the file".into();
    };
    if c.is_alphanumeric() || c == '_' {
        let w: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            .take(24)
            .collect();
        format!("`{w}`")
    } else if c == '\n' {
        "the end of the line".into()
    } else {
        format!("`{c}`")
    }
}

/// A parse failure as `line:col: expected …, found …`.
fn syntax_error(text: &str, e: pest::error::Error<Rule>) -> (Pos, String) {
    let (line, col) = match e.line_col {
        pest::error::LineColLocation::Pos(p) | pest::error::LineColLocation::Span(p, _) => p,
    };
    let at = match e.location {
        pest::error::InputLocation::Pos(p) | pest::error::InputLocation::Span((p, _)) => p,
    };
    let what = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().map(rule_name).collect();
            names.sort_unstable();
            names.dedup();
            match names.len() {
                0 => "something else".to_string(),
                1 => names[0].to_string(),
                _ => {
                    let last = names.pop().unwrap_or_default();
                    format!("{} or {last}", names.join(", "))
                }
            }
        }
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    (
        Pos { line, col },
        format!("expected {what}, found {}", found(text, at)),
    )
}

fn pratt() -> PrattParser<Rule> {
    PrattParser::new()
        .op(Op::infix(Rule::or, Assoc::Left))
        .op(Op::infix(Rule::and, Assoc::Left))
        .op(Op::infix(Rule::bitor, Assoc::Left))
        .op(Op::infix(Rule::eq, Assoc::Left) | Op::infix(Rule::ne, Assoc::Left))
        .op(Op::infix(Rule::lt, Assoc::Left)
            | Op::infix(Rule::le, Assoc::Left)
            | Op::infix(Rule::gt, Assoc::Left)
            | Op::infix(Rule::ge, Assoc::Left))
        .op(Op::infix(Rule::shl, Assoc::Left) | Op::infix(Rule::shr, Assoc::Left))
        .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left))
        .op(Op::prefix(Rule::not))
}

/// Parses a number as written: decimal or 0x-hex.
pub fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

struct Builder {
    pratt: PrattParser<Rule>,
}

type Res<T> = Result<T, (Pos, String)>;

impl Builder {
    fn expr(&self, p: Pair<'_, Rule>) -> Res<Expr> {
        if p.clone().into_inner().count() > MAX_TERMS {
            return Err((
                pos(&p),
                format!("an expression of more than {MAX_TERMS} operands and operators"),
            ));
        }
        let mut err = None;
        let e = self
            .pratt
            .map_primary(|q| match self.primary(q) {
                Ok(e) => e,
                Err(x) => {
                    let at = x.0;
                    err.get_or_insert(x);
                    Expr::Int(0, at)
                }
            })
            .map_prefix(|op, e| Expr::Not(Box::new(e), pos(&op)))
            .map_infix(|l, op, r| {
                let o = match op.as_rule() {
                    Rule::or => BinOp::Or,
                    Rule::and => BinOp::And,
                    Rule::eq => BinOp::Eq,
                    Rule::ne => BinOp::Ne,
                    Rule::lt => BinOp::Lt,
                    Rule::le => BinOp::Le,
                    Rule::gt => BinOp::Gt,
                    Rule::ge => BinOp::Ge,
                    Rule::bitor => BinOp::BitOr,
                    Rule::shl => BinOp::Shl,
                    Rule::shr => BinOp::Shr,
                    Rule::add => BinOp::Add,
                    Rule::sub => BinOp::Sub,
                    _ => BinOp::Mul,
                };
                let at = l.pos();
                Expr::Bin(o, Box::new(l), Box::new(r), at)
            })
            .parse(p.into_inner());
        match err {
            Some(x) => Err(x),
            None => Ok(e),
        }
    }

    fn primary(&self, p: Pair<'_, Rule>) -> Res<Expr> {
        let at = pos(&p);
        Ok(match p.as_rule() {
            Rule::int => Expr::Int(
                number(p.as_str()).ok_or((at, format!("{} does not fit 64 bits", p.as_str())))?,
                at,
            ),
            Rule::string => Expr::Str(inner_str(p), at),
            Rule::ident => Expr::Var(p.as_str().to_string(), at),
            Rule::reg => {
                let mut i = p.into_inner();
                let (Some(n), Some(r)) = (i.next(), i.next()) else {
                    return Err((at, "a register is CPU:NAME".into()));
                };
                let cpu = n
                    .as_str()
                    .parse()
                    .map_err(|_| (at, format!("no CPU {}", n.as_str())))?;
                Expr::Reg(cpu, r.as_str().to_string(), at)
            }
            Rule::call => {
                let mut i = p.into_inner();
                let name = i.next().map(|n| n.as_str().to_string()).unwrap_or_default();
                let args = i.map(|a| self.expr(a)).collect::<Res<Vec<_>>>()?;
                Expr::Call(name, args, at)
            }
            Rule::expr => self.expr(p)?,
            r => return Err((at, format!("unexpected {}", rule_name(&r)))),
        })
    }

    fn block(&self, p: Pair<'_, Rule>) -> Res<Vec<Stmt>> {
        p.into_inner().map(|s| self.stmt(s)).collect()
    }

    fn stmt(&self, p: Pair<'_, Rule>) -> Res<Stmt> {
        let at = pos(&p);
        let rule = p.as_rule();
        let mut i = p.into_inner();
        let mut next = || i.next().ok_or((at, "incomplete statement".to_string()));
        Ok(match rule {
            Rule::let_stmt => {
                let name: std::sync::Arc<str> = next()?.as_str().into();
                Stmt::Let(name, self.expr(next()?)?, at)
            }
            Rule::expr_stmt => Stmt::Expr(self.expr(next()?)?),
            Rule::on_stmt => {
                let name = next()?.as_str().to_string();
                Stmt::On(name, self.block(next()?)?, at)
            }
            Rule::repeat_stmt => {
                let n = self.expr(next()?)?;
                Stmt::Repeat(n, self.block(next()?)?)
            }
            Rule::if_stmt => self.if_stmt(next()?, next()?, i.next())?,
            r => return Err((at, format!("unexpected {}", rule_name(&r)))),
        })
    }

    fn if_stmt(
        &self,
        cond: Pair<'_, Rule>,
        then: Pair<'_, Rule>,
        els: Option<Pair<'_, Rule>>,
    ) -> Res<Stmt> {
        let c = self.expr(cond)?;
        let t = self.block(then)?;
        let e = match els.and_then(|e| e.into_inner().next()) {
            None => Vec::new(),
            Some(b) if b.as_rule() == Rule::block => self.block(b)?,
            Some(s) => vec![self.stmt(s)?],
        };
        Ok(Stmt::If(c, t, e))
    }
}

fn inner_str(p: Pair<'_, Rule>) -> String {
    p.into_inner()
        .next()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

/// How deep brackets may nest: the parser and the interpreter recurse once
/// per level.
pub const MAX_NESTING: usize = 32;

/// How many operands and operators one expression may have (between
/// brackets): the tree it makes is as deep.
pub const MAX_TERMS: usize = 128;

/// Refuses brackets nested deeper than [`MAX_NESTING`] (outside comments
/// and strings), at the first bracket too deep.
fn nesting(text: &str) -> Result<(), (Pos, String)> {
    let (mut line, mut col, mut depth) = (1, 0, 0usize);
    let mut chars = text.chars().peekable();
    let (mut in_str, mut line_comment, mut block_comment) = (false, false, false);
    while let Some(c) = chars.next() {
        col += 1;
        if c == '\n' {
            (line, col) = (line + 1, 0);
            line_comment = false;
            in_str = false;
            continue;
        }
        if line_comment {
            continue;
        }
        if block_comment {
            if c == '*' && chars.peek() == Some(&'/') {
                chars.next();
                col += 1;
                block_comment = false;
            }
            continue;
        }
        if in_str {
            in_str = c != '"';
            continue;
        }
        match c {
            '"' => in_str = true,
            '/' if chars.peek() == Some(&'/') => line_comment = true,
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                col += 1;
                block_comment = true;
            }
            '(' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err((
                        Pos { line, col },
                        format!("brackets nested deeper than {MAX_NESTING}"),
                    ));
                }
            }
            ')' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Parses a scenario file's text into its syntax tree; an error is the
/// place and what was expected there.
pub fn parse(text: &str) -> Result<Ast, (Pos, String)> {
    nesting(text)?;
    let mut pairs = Grammar::parse(Rule::file, text).map_err(|e| syntax_error(text, e))?;
    let file = pairs
        .next()
        .ok_or((Pos::default(), "empty parse".to_string()))?;
    let b = Builder { pratt: pratt() };
    let mut ast = Ast {
        name: String::new(),
        title: None,
        defaults: Vec::new(),
        setup: Vec::new(),
        bodies: Vec::new(),
        final_: Vec::new(),
        checks: Vec::new(),
    };
    let mut seen_setup: Option<Pos> = None;
    let mut seen_final: Option<Pos> = None;
    for item in file.into_inner() {
        let at = pos(&item);
        match item.as_rule() {
            Rule::header => {
                let mut i = item.into_inner();
                ast.name = i.next().map(|n| n.as_str().to_string()).unwrap_or_default();
                ast.title = i.next().map(inner_str);
            }
            Rule::defaults => {
                for s in item.into_inner() {
                    let sp = pos(&s);
                    let mut i = s.into_inner();
                    let (Some(k), Some(v)) = (i.next(), i.next()) else {
                        continue;
                    };
                    let v = v.into_inner().next();
                    let v = match v {
                        Some(x) if x.as_rule() == Rule::string => inner_str(x),
                        Some(x) => x.as_str().to_string(),
                        None => String::new(),
                    };
                    ast.defaults.push((k.as_str().to_string(), v, sp));
                }
            }
            Rule::setup | Rule::final_ => {
                let seen = if item.as_rule() == Rule::setup {
                    &mut seen_setup
                } else {
                    &mut seen_final
                };
                if let Some(first) = seen {
                    return Err((
                        at,
                        format!(
                            "a second `{}` block (the first is at {first})",
                            item.as_str().split_whitespace().next().unwrap_or("")
                        ),
                    ));
                }
                *seen = Some(at);
                let is_setup = item.as_rule() == Rule::setup;
                let stmts = match item.into_inner().next() {
                    Some(bl) => b.block(bl)?,
                    None => Vec::new(),
                };
                if is_setup {
                    ast.setup = stmts;
                } else {
                    ast.final_ = stmts;
                }
            }
            Rule::cpu => {
                let mut body = Body {
                    cpu: 0,
                    context: None,
                    role: String::new(),
                    cond: None,
                    stmts: Vec::new(),
                    pos: at,
                };
                for part in item.into_inner() {
                    let pp = pos(&part);
                    match part.as_rule() {
                        Rule::int => {
                            body.cpu = number(part.as_str())
                                .and_then(|n| usize::try_from(n).ok())
                                .ok_or((pp, format!("no CPU {}", part.as_str())))?;
                        }
                        Rule::cpu_as => {
                            body.context = part
                                .into_inner()
                                .next()
                                .map(|n| (n.as_str().to_string(), pos(&n)));
                        }
                        Rule::string => body.role = inner_str(part),
                        Rule::cpu_if => {
                            if let Some(e) = part.into_inner().next() {
                                body.cond = Some(b.expr(e)?);
                            }
                        }
                        Rule::block => body.stmts = b.block(part)?,
                        _ => {}
                    }
                }
                ast.bodies.push(body);
            }
            Rule::check => {
                let text = item.as_str().trim_end_matches(';').trim().to_string();
                let mut i = item.into_inner();
                let exists = i.next().is_some_and(|q| q.as_str() == "exists");
                let cond = match i.next() {
                    Some(e) => b.expr(e)?,
                    None => return Err((at, "a check needs a condition".into())),
                };
                ast.checks.push(Check {
                    exists,
                    cond,
                    text,
                    pos: at,
                });
            }
            _ => {}
        }
    }
    Ok(ast)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    #[test]
    fn a_small_file_parses() {
        let ast = parse(
            "scenario x \"t\";\n defaults { lines = 2; kernel = 2.6.14; }\n\
             setup { f = new_file(2); A = new_process(1); on A { a = mmap(f, 0, 2, MAP_SHARED | MAP_FIXED, 0x10000); } }\n\
             cpu 1 as A \"racer\" if !sibling && vmas > 2 { r = load(a + 4096 * 2); }\n\
             final { }\n exists (1:r != 0xc0ffee);",
        )
        .unwrap();
        assert_eq!(ast.name, "x");
        assert_eq!(
            ast.defaults[1],
            ("kernel".into(), "2.6.14".into(), Pos { line: 2, col: 24 })
        );
        assert_eq!(ast.bodies[0].cpu, 1);
        assert!(ast.bodies[0].cond.is_some());
        // Precedence: a + (4096 * 2).
        let Stmt::Let(_, Expr::Call(_, args, _), _) = &ast.bodies[0].stmts[0] else {
            panic!("{:?}", ast.bodies[0].stmts[0]);
        };
        let Expr::Bin(BinOp::Add, _, r, _) = &args[0] else {
            panic!("{:?}", args[0]);
        };
        assert!(matches!(**r, Expr::Bin(BinOp::Mul, ..)));
        assert!(ast.checks[0].exists);
        assert_eq!(ast.checks[0].text, "exists (1:r != 0xc0ffee)");
    }

    proptest::proptest! {
        /// Arbitrary text, and text made of the grammar's own words, never
        /// panics: it parses, or the error names a place inside the text.
        #[test]
        fn no_input_panics_and_every_error_has_a_place(
            junk in proptest::collection::vec(proptest::prop_oneof![
                proptest::string::string_regex(".{0,12}").unwrap(),
                proptest::sample::select(vec![
                    "scenario ", "x", ";", "setup", "{", "}", "(", ")", "cpu ", "0", "1:r", " as A",
                    "\"r\"", "if", "else", "on", "repeat", "=", "==", "!", "+", "*", "<<", "|",
                    "exists", "forall", "final", "defaults", "//c\n", "/*", "*/", "0x", ",",
                    "load(", "mmap(f, 0, 2, MAP_SHARED)", "\n",
                ]).prop_map(str::to_string),
            ], 0..60),
        ) {
            let text: String = junk.concat();
            if let Err((p, m)) = parse(&text) {
                let lines = text.split('\n').count();
                proptest::prop_assert!(p.line >= 1 && p.line <= lines, "{p} of {lines}: {m}");
                proptest::prop_assert!(p.col >= 1, "{p}: {m}");
                proptest::prop_assert!(!m.is_empty());
            }
        }
    }

    #[test]
    fn deep_nesting_and_long_expressions_are_refused_not_overflowed() {
        let deep = format!(
            "scenario x;\nsetup {{ a = {}1{}; }}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let (p, m) = parse(&deep).unwrap_err();
        assert_eq!(p.line, 2);
        assert!(m.contains("nested deeper"), "{m}");
        let long = format!(
            "scenario x;\nsetup {{ a = 1{}; b = {}1; }}",
            "+1".repeat(100_000),
            "!".repeat(100_000)
        );
        let (_, m) = parse(&long).unwrap_err();
        assert!(m.contains("more than"), "{m}");
        let bangs = format!("scenario x;\nsetup {{ b = {}1; }}", "!".repeat(100_000));
        let (_, m) = parse(&bangs).unwrap_err();
        assert!(m.contains("more than"), "{m}");
    }

    #[test]
    fn errors_name_the_place_and_what_was_expected() {
        let (p, m) = parse("scenario x;\nsetup { a = ; }").unwrap_err();
        assert_eq!(p, Pos { line: 2, col: 13 });
        assert!(m.starts_with("expected") && m.ends_with("found `;`"), "{m}");
        let (p, m) = parse("scenario x;\ncpu 1 { }").unwrap_err();
        assert_eq!((p.line, p.col), (2, 7), "{m}");
        assert!(m.contains("string"), "{m}");
        let (_, m) = parse("").unwrap_err();
        assert!(m.contains("scenario"), "{m}");
    }
}
