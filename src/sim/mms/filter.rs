//! Partition filter expressions of CreateMmsJob `partitionFilters`:
//! `p1 >= '2022-03-04' and (p2 = 10 or p3 > 20) and p4 in ('abc','cde')`.
//! Comparisons are numeric when the literal is a bare number and the partition value parses as
//! one, otherwise lexical.

use std::collections::BTreeMap;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Cmp(String, Op, Literal),
    In(String, Vec<Literal>),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Eq,
    Lt,
    Le,
    Ne,
}

/// A literal: quoted string or bare number.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Op(Op),
    LParen,
    RParen,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '\'' | '"' => {
                let quote = c;
                let start = i + 1;
                let end = chars[start..]
                    .iter()
                    .position(|&x| x == quote)
                    .ok_or("unterminated string literal")?;
                out.push(Tok::Str(chars[start..start + end].iter().collect()));
                i = start + end + 1;
            }
            '>' | '<' | '=' | '!' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let (op, len) = match two.as_str() {
                    ">=" => (Op::Ge, 2),
                    "<=" => (Op::Le, 2),
                    "<>" | "!=" => (Op::Ne, 2),
                    "==" => (Op::Eq, 2),
                    _ => match c {
                        '>' => (Op::Gt, 1),
                        '<' => (Op::Lt, 1),
                        '=' => (Op::Eq, 1),
                        _ => return Err(format!("unexpected '{c}'")),
                    },
                };
                out.push(Tok::Op(op));
                i += len;
            }
            c if c.is_ascii_digit() || c == '-' || c == '.' => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                out.push(Tok::Num(
                    text.parse().map_err(|_| format!("bad number {text}"))?,
                ));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected '{other}'")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(word))
    }
    fn or(&mut self) -> Result<Filter, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Filter, String> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let inner = self.or()?;
            return match self.next() {
                Some(Tok::RParen) => Ok(inner),
                _ => Err("missing ')'".into()),
            };
        }
        let Some(Tok::Ident(column)) = self.next() else {
            return Err("expected a partition column name".into());
        };
        if self.keyword("in") {
            self.pos += 1;
            return Ok(Filter::In(column, self.list()?));
        }
        if self.keyword("not") {
            self.pos += 1;
            if !self.keyword("in") {
                return Err("expected 'in' after 'not'".into());
            }
            self.pos += 1;
            return Ok(Filter::Not(Box::new(Filter::In(column, self.list()?))));
        }
        let Some(Tok::Op(op)) = self.next() else {
            return Err(format!("expected an operator after {column}"));
        };
        Ok(Filter::Cmp(column, op, self.literal()?))
    }
    fn list(&mut self) -> Result<Vec<Literal>, String> {
        if self.next() != Some(Tok::LParen) {
            return Err("expected '(' after 'in'".into());
        }
        let mut items = vec![self.literal()?];
        loop {
            match self.next() {
                Some(Tok::Comma) => items.push(self.literal()?),
                Some(Tok::RParen) => return Ok(items),
                _ => return Err("expected ',' or ')' in the 'in' list".into()),
            }
        }
    }
    fn literal(&mut self) -> Result<Literal, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Num(n)) => Ok(Literal::Num(n)),
            _ => Err("expected a quoted string or a number".into()),
        }
    }
}

impl Filter {
    /// Parses a filter expression.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut p = Parser {
            toks: tokenize(text)?,
            pos: 0,
        };
        let f = p.or()?;
        if p.pos != p.toks.len() {
            return Err("unexpected text after the expression".into());
        }
        Ok(f)
    }

    /// Column names the filter refers to.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let mut v = a.columns();
                v.extend(b.columns());
                v
            }
            Filter::Not(f) => f.columns(),
            Filter::Cmp(c, _, _) | Filter::In(c, _) => vec![c.as_str()],
        }
    }

    /// Evaluates against a partition spec (`p1=1/p2=abc`).
    pub fn matches(&self, spec: &str) -> bool {
        let values: BTreeMap<&str, &str> = spec
            .split('/')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        self.eval(&values)
    }

    fn eval(&self, values: &BTreeMap<&str, &str>) -> bool {
        match self {
            Filter::And(a, b) => a.eval(values) && b.eval(values),
            Filter::Or(a, b) => a.eval(values) || b.eval(values),
            Filter::Not(f) => !f.eval(values),
            Filter::Cmp(c, op, lit) => values.get(c.as_str()).is_some_and(|v| compare(v, *op, lit)),
            Filter::In(c, lits) => values
                .get(c.as_str())
                .is_some_and(|v| lits.iter().any(|l| compare(v, Op::Eq, l))),
        }
    }
}

fn compare(value: &str, op: Op, lit: &Literal) -> bool {
    let ord = match lit {
        Literal::Num(n) => match value.parse::<f64>() {
            Ok(v) => v.partial_cmp(n),
            Err(_) => Some(value.cmp(&n.to_string())),
        },
        Literal::Str(s) => Some(value.cmp(s.as_str())),
    };
    let Some(ord) = ord else { return false };
    match op {
        Op::Gt => ord.is_gt(),
        Op::Ge => ord.is_ge(),
        Op::Eq => ord.is_eq(),
        Op::Lt => ord.is_lt(),
        Op::Le => ord.is_le(),
        Op::Ne => ord.is_ne(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_example() {
        let f =
            Filter::parse("p1 >= '2022-03-04' and (p2 = 10 or p3 > 20) and p4 in ('abc','cde')")
                .unwrap();
        assert!(f.matches("p1=2022-03-05/p2=10/p3=0/p4=abc"));
        assert!(!f.matches("p1=2022-03-01/p2=10/p3=0/p4=abc"));
        assert!(!f.matches("p1=2022-03-05/p2=9/p3=20/p4=abc"));
        assert!(f.matches("p1=2022-03-05/p2=9/p3=21/p4=cde"));
        assert_eq!(f.columns(), vec!["p1", "p2", "p3", "p4"]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Filter::parse("ds >").is_err());
        assert!(Filter::parse("ds = 'x' extra").is_err());
        assert!(Filter::parse("(ds = 'x'").is_err());
    }
}
