//! Refused input, field by field. Every `BAD_USER_INPUT` names the argument or input field it is
//! about, as the schema spells it (`extensions.field`), and a validation of several fields
//! reports every one that is wrong at once ([`Checks`]), so a form can mark them all after one
//! round trip. Nothing is changed by a refusal.

use std::fmt;

/// One refused field: its name in the schema (`title`, `durationSeconds`, `amount`, …) and
/// what is wrong with it, in words that start with that name where they can.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// One or more refused fields, in the order they were checked; never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(Vec<FieldError>);

impl Invalid {
    /// `field` refused for `message`.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// Every refused field, in the order checked.
    pub fn fields(&self) -> &[FieldError] {
        &self.0
    }

    /// The first refused field's name.
    pub fn first_field(&self) -> &str {
        self.0.first().map_or("", |f| f.field.as_str())
    }

    /// Whether any refusal's message contains `needle` (for tests and logs).
    pub fn mentions(&self, needle: &str) -> bool {
        self.0.iter().any(|f| f.message.contains(needle))
    }
}

impl fmt::Display for Invalid {
    /// The messages joined with `; `, as a client reads them in `message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            f.write_str(&e.message)?;
        }
        Ok(())
    }
}

/// An error that may be a refusal of input: what [`Checks`] gathers from each check.
pub trait MaybeInvalid: From<Invalid> + Sized {
    /// The refusal inside, or the error itself when it is something else (a database error
    /// is not gathered: it ends the validation as it is).
    fn into_invalid(self) -> Result<Invalid, Self>;
}

/// Runs several checks and gathers every refusal, so one reply names every wrong field.
///
/// ```ignore
/// let mut checks = Checks::default();
/// let title = checks.check(text::required("title", raw, 100, Lines::One));
/// let amount = checks.check(Amount::within(won, min, max));
/// checks.done()?; // every refusal at once, or the values above are the checked ones
/// ```
pub struct Checks<E> {
    refused: Vec<FieldError>,
    other: Option<E>,
}

impl<E> Default for Checks<E> {
    fn default() -> Self {
        Self {
            refused: Vec::new(),
            other: None,
        }
    }
}

impl<E: MaybeInvalid> Checks<E> {
    /// The value of a check that passed; a default placeholder for one that did not, which
    /// [`Checks::done`] keeps from being used.
    pub fn check<T: Default>(&mut self, result: Result<T, E>) -> T {
        match result {
            Ok(v) => v,
            Err(e) => {
                match e.into_invalid() {
                    Ok(invalid) => self.refused.extend(invalid.0),
                    Err(other) => {
                        self.other.get_or_insert(other);
                    }
                }
                T::default()
            }
        }
    }

    /// The value of a check that passed, `None` for one that did not.
    pub fn value<T>(&mut self, result: Result<T, E>) -> Option<T> {
        self.check(result.map(Some))
    }

    /// Refuses `field` unless `ok`.
    pub fn require(&mut self, ok: bool, field: &str, message: impl FnOnce() -> String) {
        if !ok {
            self.refused.push(FieldError {
                field: field.into(),
                message: message(),
            });
        }
    }

    /// Every refusal gathered (or the first error that was not one), or `Ok` when all passed.
    pub fn done(self) -> Result<(), E> {
        match (self.other, self.refused.is_empty()) {
            (Some(e), _) => Err(e),
            (None, false) => Err(E::from(Invalid(self.refused))),
            (None, true) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LedgerError;

    #[test]
    fn every_refusal_is_reported_in_the_order_checked() {
        let mut checks = Checks::<LedgerError>::default();
        let a: String = checks.check(Err(LedgerError::invalid("title", "title is empty")));
        let b: i64 = checks.check(Ok(7));
        checks.require(false, "durationSeconds", || "durationSeconds is 0".into());
        assert_eq!((a.as_str(), b), ("", 7));
        match checks.done() {
            Err(LedgerError::InvalidInput(invalid)) => {
                assert_eq!(invalid.first_field(), "title");
                assert_eq!(invalid.fields().len(), 2);
                assert_eq!(invalid.to_string(), "title is empty; durationSeconds is 0");
            }
            other => panic!("{other:?}"),
        }
        assert!(Checks::<LedgerError>::default().done().is_ok());
    }
}
