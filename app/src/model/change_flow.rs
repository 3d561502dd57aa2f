//! The change-request life cycle (SPEC §5.2), as pure functions the server applies inside
//! transactions and the tests run exhaustively.
//!
//! Awaiting authorization → New → Assess → Scheduled → Implement → Review → Closed; Cancelled (not
//! from Review or Closed); Declined (from Awaiting authorization). A CR raised on a customer's behalf
//! waits for an administrator of the account: until one authorizes it, nobody moves it forward.

use serde::{Deserialize, Serialize};

text_enum! {
    /// Travels (JSON) and is stored as its `as_str` text.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum ChangeState {
        AwaitingAuthorization => ("awaiting_authorization", "Awaiting authorization"),
        New => ("new", "New"),
        Assess => ("assess", "Assess"),
        Scheduled => ("scheduled", "Scheduled"),
        Implement => ("implement", "Implement"),
        Review => ("review", "Review"),
        Closed => ("closed", "Closed"),
        Cancelled => ("cancelled", "Cancelled"),
        Declined => ("declined", "Declined"),
    }
}

impl ChangeState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ChangeState::Closed | ChangeState::Cancelled | ChangeState::Declined
        )
    }

    /// Whether the CR carries a customer's authorization in this state: every state past
    /// Awaiting authorization except Declined (Cancelled comes only after New).
    pub fn needs_authorization(self) -> bool {
        !matches!(
            self,
            ChangeState::AwaitingAuthorization | ChangeState::Declined
        )
    }

    /// Whether the CR may still become a case: implementation has not started (§5.3).
    pub fn convertible(self) -> bool {
        matches!(
            self,
            ChangeState::New | ChangeState::Assess | ChangeState::Scheduled
        )
    }
}

/// Who moves a CR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeMover {
    /// An administrator of the CR's account.
    CustomerAdmin,
    /// Vendor staff.
    Staff,
}

text_enum! {
    /// What someone does to a CR's state.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ChangeStep {
        Authorize => ("authorize", "Authorize this change"),
        Decline => ("decline", "Decline this change"),
        Assess => ("assess", "Start assessment"),
        Schedule => ("schedule", "Schedule"),
        Implement => ("implement", "Start implementation"),
        Review => ("review", "Move to review"),
        Close => ("close", "Close"),
        Cancel => ("cancel", "Cancel the change request"),
        /// Staff turn a mistaken CR into a case; it ends Cancelled (converted).
        Convert => ("convert", "Convert into a case"),
    }
}

impl ChangeStep {
    fn mover(self) -> ChangeMover {
        match self {
            ChangeStep::Authorize | ChangeStep::Decline => ChangeMover::CustomerAdmin,
            _ => ChangeMover::Staff,
        }
    }
}

/// The state `step` leads to from `from` when `by` takes it, or why it cannot.
pub fn next(
    from: ChangeState,
    step: ChangeStep,
    by: ChangeMover,
) -> Result<ChangeState, &'static str> {
    use ChangeState::*;
    if step.mover() != by {
        return Err("This step is not yours to take");
    }
    match (from, step) {
        (AwaitingAuthorization, ChangeStep::Authorize) => Ok(New),
        (AwaitingAuthorization, ChangeStep::Decline) => Ok(Declined),
        (AwaitingAuthorization, _) => Err("The change request awaits the customer's authorization"),
        (New, ChangeStep::Assess) => Ok(Assess),
        (Assess, ChangeStep::Schedule) => Ok(Scheduled),
        (Scheduled, ChangeStep::Implement) => Ok(Implement),
        (Implement, ChangeStep::Review) => Ok(Review),
        (Review, ChangeStep::Close) => Ok(Closed),
        (New | Assess | Scheduled | Implement, ChangeStep::Cancel) => Ok(Cancelled),
        (New | Assess | Scheduled, ChangeStep::Convert) => Ok(Cancelled),
        (Closed | Cancelled | Declined, _) => Err("The change request is closed"),
        (Implement | Review, ChangeStep::Convert) => {
            Err("Implementation has started: the change request can no longer become a case")
        }
        (Review, ChangeStep::Cancel) => Err("A change under review can only be closed"),
        _ => Err("This step does not apply to the change request in its current state"),
    }
}

/// The steps `by` can take from `from`, for the buttons on the CR page.
pub fn steps(from: ChangeState, by: ChangeMover) -> Vec<ChangeStep> {
    ChangeStep::ALL
        .into_iter()
        .filter(|s| next(from, *s, by).is_ok())
        .collect()
}

/// `CHG` + 7 digits.
pub fn change_number(value: i64) -> String {
    format!("CHG{value:07}")
}

/// The statement a customer agrees to when they authorize a change for `account`.
pub fn authorization_statement(account: &str) -> String {
    format!("I am authorized to request this change for {account}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_travels_and_is_stored_as_the_same_text() {
        for state in ChangeState::ALL {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(ChangeState::try_from(state.as_str().to_string()), Ok(state));
        }
        assert!(ChangeState::try_from("frozen".to_string()).is_err());
    }
    use ChangeState::*;

    /// Every state × step × mover: exactly these are allowed.
    #[test]
    fn every_allowed_and_refused_transition() {
        let allowed: &[(ChangeState, ChangeStep, ChangeMover, ChangeState)] = &[
            (
                AwaitingAuthorization,
                ChangeStep::Authorize,
                ChangeMover::CustomerAdmin,
                New,
            ),
            (
                AwaitingAuthorization,
                ChangeStep::Decline,
                ChangeMover::CustomerAdmin,
                Declined,
            ),
            (New, ChangeStep::Assess, ChangeMover::Staff, Assess),
            (Assess, ChangeStep::Schedule, ChangeMover::Staff, Scheduled),
            (
                Scheduled,
                ChangeStep::Implement,
                ChangeMover::Staff,
                Implement,
            ),
            (Implement, ChangeStep::Review, ChangeMover::Staff, Review),
            (Review, ChangeStep::Close, ChangeMover::Staff, Closed),
            (New, ChangeStep::Cancel, ChangeMover::Staff, Cancelled),
            (Assess, ChangeStep::Cancel, ChangeMover::Staff, Cancelled),
            (Scheduled, ChangeStep::Cancel, ChangeMover::Staff, Cancelled),
            (Implement, ChangeStep::Cancel, ChangeMover::Staff, Cancelled),
            (New, ChangeStep::Convert, ChangeMover::Staff, Cancelled),
            (Assess, ChangeStep::Convert, ChangeMover::Staff, Cancelled),
            (
                Scheduled,
                ChangeStep::Convert,
                ChangeMover::Staff,
                Cancelled,
            ),
        ];
        for from in ChangeState::ALL {
            for step in ChangeStep::ALL {
                for by in [ChangeMover::CustomerAdmin, ChangeMover::Staff] {
                    let expected = allowed
                        .iter()
                        .find(|(f, s, m, _)| *f == from && *s == step && *m == by)
                        .map(|(_, _, _, to)| *to);
                    assert_eq!(
                        next(from, step, by).ok(),
                        expected,
                        "{from:?} --{step:?} by {by:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn nothing_moves_a_change_forward_before_authorization() {
        assert_eq!(
            steps(AwaitingAuthorization, ChangeMover::Staff),
            Vec::<ChangeStep>::new()
        );
        assert_eq!(
            next(
                AwaitingAuthorization,
                ChangeStep::Assess,
                ChangeMover::Staff
            ),
            Err("The change request awaits the customer's authorization")
        );
        assert_eq!(
            steps(AwaitingAuthorization, ChangeMover::CustomerAdmin),
            vec![ChangeStep::Authorize, ChangeStep::Decline]
        );
    }

    #[test]
    fn names_round_trip_and_numbers_have_seven_digits() {
        for s in ChangeState::ALL {
            assert_eq!(ChangeState::parse(s.as_str()), Some(s));
        }
        for s in ChangeStep::ALL {
            assert_eq!(ChangeStep::parse(s.as_str()), Some(s));
        }
        assert_eq!(change_number(1001), "CHG0001001");
        assert!(!AwaitingAuthorization.needs_authorization() && Review.needs_authorization());
        assert!(Scheduled.convertible() && !Implement.convertible());
    }
}
