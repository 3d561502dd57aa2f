//! The change-request life cycle (SPEC §5.2), as pure functions the server applies inside
//! transactions and the tests run exhaustively.
//!
//! Awaiting authorization → New → Assess → Scheduled → Implement → Review → Closed; Cancelled (not
//! from Review or Closed); Declined (from Awaiting authorization). A CR raised on a customer's behalf
//! waits for an administrator of the account: until one authorizes it, nobody moves it forward.

pub use super::flow::Flow;

text_enum! {
    /// Travels (JSON) and is stored as its `as_str` text.
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

/// The change-request life cycle.
pub struct ChangeFlow;

impl Flow for ChangeFlow {
    type State = ChangeState;
    type Step = ChangeStep;
    type Mover = ChangeMover;
    const STATES: &'static [ChangeState] = &ChangeState::ALL;
    const STEPS: &'static [ChangeStep] = &ChangeStep::ALL;
    const MOVERS: &'static [ChangeMover] = &[ChangeMover::CustomerAdmin, ChangeMover::Staff];

    fn mover(step: ChangeStep) -> ChangeMover {
        match step {
            ChangeStep::Authorize | ChangeStep::Decline => ChangeMover::CustomerAdmin,
            _ => ChangeMover::Staff,
        }
    }

    fn transition(from: ChangeState, step: ChangeStep) -> Result<ChangeState, &'static str> {
        use ChangeState::*;
        match (from, step) {
            (AwaitingAuthorization, ChangeStep::Authorize) => Ok(New),
            (AwaitingAuthorization, ChangeStep::Decline) => Ok(Declined),
            (AwaitingAuthorization, _) => {
                Err("The change request awaits the customer's authorization")
            }
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
    use crate::model::flow::assert_exactly;

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
        assert_exactly::<ChangeFlow>(allowed);
    }

    #[test]
    fn nothing_moves_a_change_forward_before_authorization() {
        assert_eq!(
            ChangeFlow::steps(AwaitingAuthorization, ChangeMover::Staff),
            Vec::<ChangeStep>::new()
        );
        assert_eq!(
            ChangeFlow::next(
                AwaitingAuthorization,
                ChangeStep::Assess,
                ChangeMover::Staff
            ),
            Err("The change request awaits the customer's authorization")
        );
        assert_eq!(
            ChangeFlow::steps(AwaitingAuthorization, ChangeMover::CustomerAdmin),
            vec![ChangeStep::Authorize, ChangeStep::Decline]
        );
    }

    #[test]
    fn numbers_have_seven_digits_and_states_say_what_they_carry() {
        assert_eq!(change_number(1001), "CHG0001001");
        assert!(!AwaitingAuthorization.needs_authorization() && Review.needs_authorization());
        assert!(Scheduled.convertible() && !Implement.convertible());
    }
}
