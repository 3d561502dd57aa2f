//! What the case and change-request life cycles have in common: states moved by steps, each step
//! one party's to take. Each life cycle gives its table; the rules around it are written here once.

/// A life cycle whose steps are each one party's to take.
pub trait Flow {
    type State: Copy + PartialEq + std::fmt::Debug + 'static;
    type Step: Copy + PartialEq + std::fmt::Debug + 'static;
    type Mover: Copy + PartialEq + std::fmt::Debug + 'static;

    /// Every state.
    const STATES: &'static [Self::State];
    /// Every step, in the order their buttons show.
    const STEPS: &'static [Self::Step];
    /// Every party that moves it.
    const MOVERS: &'static [Self::Mover];

    /// Who takes `step`.
    fn mover(step: Self::Step) -> Self::Mover;

    /// Where `step` leads from `from`, or why it cannot (whoever takes it).
    fn transition(from: Self::State, step: Self::Step) -> Result<Self::State, &'static str>;

    /// The state `step` leads to from `from` when `by` takes it, or why it cannot.
    fn next(
        from: Self::State,
        step: Self::Step,
        by: Self::Mover,
    ) -> Result<Self::State, &'static str> {
        if Self::mover(step) != by {
            return Err("This step is not yours to take");
        }
        Self::transition(from, step)
    }

    /// The steps `by` can take from `from`, for the buttons on the page.
    fn steps(from: Self::State, by: Self::Mover) -> Vec<Self::Step> {
        Self::STEPS
            .iter()
            .copied()
            .filter(|s| Self::next(from, *s, by).is_ok())
            .collect()
    }
}

/// Checks every state × step × mover of `F`: exactly the `allowed` moves succeed, each to its
/// state.
#[cfg(test)]
pub(crate) fn assert_exactly<F: Flow>(allowed: &[(F::State, F::Step, F::Mover, F::State)]) {
    for &from in F::STATES {
        for &step in F::STEPS {
            for &by in F::MOVERS {
                let expected = allowed
                    .iter()
                    .find(|(f, s, m, _)| *f == from && *s == step && *m == by)
                    .map(|(_, _, _, to)| *to);
                assert_eq!(
                    F::next(from, step, by).ok(),
                    expected,
                    "{from:?} {step:?} by {by:?}"
                );
            }
        }
    }
}
