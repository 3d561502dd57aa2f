//! `/staff/mail`: replies by mail the portal held for staff — why, from whom, what they say —
//! each to accept (it becomes the addressee's comment) or discard.

use crate::api::mail::{held_mails, DecideMail};
use crate::components::forms::{form_answer, ErrorSummary};
use crate::components::list::Loaded;
use crate::components::time::format_time;
use leptos::prelude::*;
use leptos_meta::Title;
use server_fn::ServerFn;

#[component]
pub fn HeldMailPage() -> impl IntoView {
    let mails = Resource::new(|| (), |_| held_mails());
    let error = form_answer(DecideMail::PATH);
    view! {
        <Title text="Held mail"/>
        <p><a href="/staff/cases">"← Case queues"</a></p>
        <h1>"Mail held for review"</h1>
        <p class="lead">"Replies by mail the portal did not add on its own. Accepting one adds it to its case as a comment by the person the case's reply address belongs to; only their own mail can be accepted."</p>
        <ErrorSummary error/>
        <Loaded resource=mails view=move |mails| {
            if mails.is_empty() {
                return view! { <p>"No mail is waiting."</p> }.into_any();
            }
            view! {
                <ol class="held-mail">
                    {mails.into_iter().map(|m| {
                        let heading = format!("held-{}", m.id);
                        let labelled = heading.clone();
                        view! {
                            <li>
                                <article class="panel" aria-labelledby=labelled>
                                    <h2 id=heading>{if m.subject.is_empty() { "(no subject)".to_string() } else { m.subject.clone() }}</h2>
                                    <dl class="facts">
                                        <dt>"From"</dt><dd>{m.from.clone()}</dd>
                                        <dt>"Received"</dt><dd>{format_time(Some(m.received_at))}</dd>
                                        <dt>"Case"</dt><dd>{match m.case.clone() {
                                            Some(n) => view! { <a href=format!("/cases/{n}")>{n.clone()}</a> }.into_any(),
                                            None => "none named".into_any(),
                                        }}</dd>
                                        <dt>"Held because"</dt><dd>{m.reason.clone()}</dd>
                                    </dl>
                                    <pre class="held-mail__text">{m.text.clone()}</pre>
                                    <div class="actions">
                                        {m.acceptable.then(|| view! {
                                            <form method="post" action=DecideMail::PATH class="inline-form">
                                                <input type="hidden" name="id" value=m.id.to_string()/>
                                                <input type="hidden" name="decision" value="accept"/>
                                                <button type="submit" class="button">"Accept as comment"</button>
                                            </form>
                                        })}
                                        <form method="post" action=DecideMail::PATH class="inline-form">
                                            <input type="hidden" name="id" value=m.id.to_string()/>
                                            <input type="hidden" name="decision" value="discard"/>
                                            <button type="submit" class="button button--secondary">"Discard"</button>
                                        </form>
                                    </div>
                                </article>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            }.into_any()
        }/>
    }
}
