//! Syntax-only checks on Python source (the Ruff parser, no evaluation): whether text parses,
//! and a token-level bound on how deep its AST would nest, checked before parsing.
//!
//! Must not: evaluate anything (the decoders use it to recognise source; the walkers to guard
//! the parser).

use ruff_python_ast::token::TokenKind;
use ruff_python_parser::{Mode, ParseOptions, lexer};

use crate::Limits;

/// How much deeper than `max_depth` the token nesting may go before the parser is not run.
const NESTING_FACTOR: usize = 20;

/// Whether `text` is Python source that parses without errors (within `limits`).
pub(crate) fn parses_cleanly(text: &str, limits: &Limits) -> bool {
    if text.len() > limits.max_source_bytes
        || nesting_score(text, hard_nesting(limits.max_depth)).is_err()
    {
        return false;
    }
    ruff_python_parser::parse_unchecked(text, ParseOptions::from(Mode::Module))
        .errors()
        .is_empty()
}

pub(crate) fn hard_nesting(depth: usize) -> usize {
    depth.saturating_mul(NESTING_FACTOR).max(64)
}

/// A conservative bound on the depth of the AST `src` parses to, from tokens: open brackets,
/// plus every operator/keyword since the last separator at each open level, plus twice the
/// indentation. `Err(score)` as soon as it exceeds `limit`.
pub(crate) fn nesting_score(src: &str, limit: usize) -> Result<usize, usize> {
    let mut lx = lexer::lex(src, Mode::Module);
    let mut levels: Vec<usize> = vec![0];
    let mut ops_sum = 0usize;
    let mut indent = 0usize;
    let mut max = 0usize;
    loop {
        let kind = lx.next_token();
        match kind {
            TokenKind::EndOfFile => break,
            TokenKind::Lpar
            | TokenKind::Lsqb
            | TokenKind::Lbrace
            | TokenKind::FStringStart
            | TokenKind::TStringStart => levels.push(0),
            TokenKind::Rpar
            | TokenKind::Rsqb
            | TokenKind::Rbrace
            | TokenKind::FStringEnd
            | TokenKind::TStringEnd => {
                if levels.len() > 1 {
                    ops_sum -= levels.pop().unwrap_or(0);
                }
                // The closed group is a postfix operation or an atom of the enclosing level.
                if let Some(last) = levels.last_mut() {
                    *last += 1;
                    ops_sum += 1;
                }
            }
            TokenKind::Comma | TokenKind::Newline | TokenKind::Semi => {
                if let Some(last) = levels.last_mut() {
                    ops_sum -= *last;
                    *last = 0;
                }
            }
            TokenKind::Indent => indent += 1,
            TokenKind::Dedent => indent = indent.saturating_sub(1),
            TokenKind::Name
            | TokenKind::Int
            | TokenKind::Float
            | TokenKind::Complex
            | TokenKind::String
            | TokenKind::FStringMiddle
            | TokenKind::TStringMiddle
            | TokenKind::Comment
            | TokenKind::NonLogicalNewline
            | TokenKind::Colon
            | TokenKind::Equal
            | TokenKind::Ellipsis
            | TokenKind::True
            | TokenKind::False
            | TokenKind::None => {}
            _ => {
                if let Some(last) = levels.last_mut() {
                    *last += 1;
                    ops_sum += 1;
                }
            }
        }
        let score = levels.len() + ops_sum + 2 * indent;
        max = max.max(score);
        if score > limit {
            return Err(score);
        }
    }
    Ok(max)
}
