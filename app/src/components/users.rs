//! Forms for changing users, shared by the Manage Accounts page and the staff account page.

use crate::api::users::{ChangeInvitation, InviteUser};
use crate::components::forms::{form_answer, new_form_key, ErrorSummary, Field, FormAnswer};
use leptos::prelude::*;
use server_fn::ServerFn;

/// The reason and case-number fields every staff change to a customer's users carries (§3.2).
/// The labels wrap their inputs, so the fields can repeat in every row of a table; `with_ids`
/// gives them the ids an error summary links to, for a page's one main form.
#[component]
pub fn StaffReasonFields(
    #[prop(optional)] with_ids: bool,
    /// The form's error, to show the reason's and case number's own messages beside them.
    #[prop(optional)]
    error: Option<FormAnswer>,
) -> impl IntoView {
    let id = move |name: &'static str| with_ids.then_some(name);
    let messages = move |name: &'static str| {
        move || {
            error
                .and_then(|e| e.get())
                .map(|e| e.for_field(name).join(" "))
                .filter(|m| !m.is_empty())
                .map(|m| view! { <span class="field-error">{m}</span> })
        }
    };
    view! {
        <div class="form-group">
            <label class="label">"Reason (recorded in the audit trail)"
                {messages("reason")}
                <input class="input" id=id("reason") name="reason" type="text" required maxlength="500"
                    value=error.and_then(|e| e.kept("reason"))/>
            </label>
        </div>
        <div class="form-group">
            <label class="label">"Case number (optional, like CS0001234)"
                {messages("reference")}
                <input class="input" id=id("reference") name="reference" type="text"
                    value=error.and_then(|e| e.kept("reference"))/>
            </label>
        </div>
    }
}

/// Add a user: first name, last name, email, optional administrator flag. `account_id` is set for
/// staff (who also give a reason); a customer administrator adds to their own account.
#[component]
pub fn AddUserForm(
    #[prop(optional)] account_id: Option<i64>,
    #[prop(optional)] return_to: Option<String>,
) -> impl IntoView {
    let error = form_answer(InviteUser::PATH);
    let staff = account_id.is_some();
    view! {
        <ErrorSummary error/>
        <form method="post" action=InviteUser::PATH class="form" novalidate>
            {account_id.map(|id| view! { <input type="hidden" name="account_id" value=id.to_string()/> })}
            {return_to.map(|path| view! { <input type="hidden" name="return_to" value=path/> })}
            <input type="hidden" name="form_key" value=new_form_key()/>
            <Field name="first_name" label="First name" autocomplete="off" error/>
            <Field name="last_name" label="Last name" autocomplete="off" error/>
            <Field name="email" label="Email address" kind="email" autocomplete="off"
                hint="The invitation goes to this address. It must be the person's own." error/>
            <div class="form-group">
                <input type="checkbox" id="administrator" name="administrator" value="on"
                    checked=error.chosen("administrator", "on")/>
                " "
                <label for="administrator">"Make them an administrator"</label>
                <p class="hint">"Administrators can add and disable users of the account and see its access history."</p>
            </div>
            {staff.then(|| view! { <StaffReasonFields with_ids=true error/> })}
            <button type="submit" class="button">"Send invitation"</button>
        </form>
    }
}

/// Re-send (new link, old one void) or revoke (link void, user disabled) an invitation.
pub fn invitation_actions(user_id: i64, name: &str, staff: bool) -> impl IntoView {
    let form = move |change: &'static str, button: String, question: String| {
        view! {
            <details class="confirm">
                <summary>{button.clone()}</summary>
                <form method="post" action=ChangeInvitation::PATH class="inline-form" novalidate>
                    <input type="hidden" name="user_id" value=user_id.to_string()/>
                    <input type="hidden" name="change" value=change/>
                    <p>{question}</p>
                    {staff.then(|| view! { <StaffReasonFields/> })}
                    <button type="submit" class="button button--secondary button--small">{format!("Yes, {}", button.to_lowercase())}</button>
                </form>
            </details>
        }
    };
    view! {
        {form("resend", format!("Re-send invitation to {name}"),
            format!("Send {name} a new invitation? The link in the earlier mail stops working."))}
        {form("revoke", format!("Revoke invitation of {name}"),
            format!("Revoke {name}'s invitation? The link stops working and they are listed as disabled."))}
    }
}
