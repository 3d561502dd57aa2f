//! Files on a case: the list under the description, a comment or a note, and the forms that add
//! and remove them. Adding works as a plain multipart form; with script the same form takes files
//! dropped on it or pasted, and shows each upload's progress (`frontend::uploads`).

use crate::api::cases::RemoveAttachment;
use crate::components::forms::{form_answer, ErrorSummary, FormAnswer};
use crate::components::time::format_time;
use crate::model::attachments::{human_size, Attachment, ScanState, ATTACH_FORM};
use leptos::prelude::*;
use server_fn::ServerFn;

/// `files`, each a link with its size and state, and — where the viewer may — a way to remove it
/// (staff say why).
#[component]
pub fn FileList(files: Vec<Attachment>, staff: bool) -> impl IntoView {
    if files.is_empty() {
        return ().into_any();
    }
    view! {
        <ul class="files" aria-label="Attached files">
            {files.into_iter().map(|f| {
                let state = (!matches!(f.scan, ScanState::Unscanned | ScanState::Clean)).then(|| f.scan.label());
                let served = staff && f.scan != ScanState::Infected || f.scan.served_to_customers();
                let token = f.token.clone();
                view! {
                    <li class="files__item">
                        {if served {
                            view! { <a href=f.href() class="files__name">{f.file_name.clone()}</a> }.into_any()
                        } else {
                            view! { <span class="files__name">{f.file_name.clone()}</span> }.into_any()
                        }}
                        <span class="meta">
                            " " {human_size(f.size)} " · " {f.uploaded_by.clone()} " · " {format_time(Some(f.uploaded_at))}
                        </span>
                        {f.internal.then(|| view! { " " <span class="badge badge--note">"Staff only"</span> })}
                        {state.map(|s| view! { " " <span class="badge">{s}</span> })}
                        {f.removable.then(|| view! {
                            <details class="confirm files__remove">
                                <summary>"Remove" <span class="visually-hidden">{format!(" {}", f.file_name)}</span></summary>
                                <form method="post" action=RemoveAttachment::PATH class="form" novalidate>
                                    <input type="hidden" name="token" value=token/>
                                    <div class="form-group">
                                        <label class="label">
                                            {if staff { "Why is it removed? (the customer sees this)" } else { "Why is it removed? (optional)" }}
                                            <input class="input" name="reason" maxlength="500" required=staff/>
                                        </label>
                                    </div>
                                    <button type="submit" class="button button--secondary">"Remove file"</button>
                                </form>
                            </details>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// Why files were not added or removed, on a case that no longer takes files (closed meanwhile).
#[component]
pub fn AttachRefusal() -> impl IntoView {
    let error = form_answer(ATTACH_FORM);
    let removal = form_answer(RemoveAttachment::PATH);
    view! {
        <ErrorSummary error=removal/>
        <ErrorSummary error/>
    }
}

/// The "Add files" form posting to `action` (`/cases/{number}/attachments`, or a change
/// request's): several files at once, up to `limit` bytes each; on a case (`internal_choice`) staff
/// may keep them from the customer.
#[component]
pub fn AttachForm(action: String, internal_choice: bool, limit: i64) -> impl IntoView {
    let error = form_answer(ATTACH_FORM);
    let removal = form_answer(RemoveAttachment::PATH);
    let problem = move || {
        let messages = error.get().map(|e| e.for_field("file")).unwrap_or_default();
        (!messages.is_empty()).then(|| messages.join(" "))
    };
    view! {
        <section class="panel" id="files" aria-labelledby="files-heading">
            <h2 id="files-heading">"Add files"</h2>
            <ErrorSummary error=removal/>
            <ErrorSummary error/>
            <form method="post" action=action enctype="multipart/form-data"
                class="form" novalidate data-upload="" data-max=limit.to_string()>
                <div class="form-group" class:form-group--error=move || problem().is_some()>
                    <label class="label" for="file">"Files"</label>
                    <p class="hint" id="file-hint">
                        {format!("Logs, screenshots, documents: up to {} each, several at once. You can also drop files on this box or paste a screenshot.", human_size(limit))}
                    </p>
                    {move || problem().map(|m| view! { <p class="field-error" id="file-error">{m}</p> })}
                    <input class="input" type="file" id="file" name="file" multiple
                        aria-describedby=move || if problem().is_some() { "file-hint file-error" } else { "file-hint" }/>
                </div>
                {internal_choice.then(|| view! {
                    <div class="form-group">
                        <label class="check">
                            <input type="checkbox" name="internal" value="on"/>
                            " Staff only: never shown to the customer"
                        </label>
                    </div>
                })}
                <ul class="uploads" aria-live="polite"></ul>
                <button type="submit" class="button button--secondary">"Upload files"</button>
            </form>
        </section>
    }
}

/// Files sent with a form (the case form, a comment, a note): uploaded as they are chosen, dropped
/// on the form or pasted into its text, each with its progress, and carried by the form as tokens
/// in its hidden `attachments` field (and their names in `staged_names`, a line `token name` each,
/// for showing them again). Needs script, so it shows only with it; without, `fallback` says where
/// files can be added instead. When the form was refused (`kept`), the files it carried are listed
/// again and go with it the next time: nothing has to be attached twice.
#[component]
pub fn StageFiles(
    limit: i64,
    #[prop(optional)] fallback: Option<&'static str>,
    #[prop(optional)] kept: Option<FormAnswer>,
) -> impl IntoView {
    let staged = kept
        .map(|answer| {
            staged_files(
                &answer.kept("attachments").unwrap_or_default(),
                &answer.kept("staged_names").unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    let tokens = staged
        .iter()
        .map(|(t, _)| t.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let names = staged
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect::<Vec<_>>()
        .join("\n");
    view! {
        <div class="form-group stage" data-stage="" data-max=limit.to_string() hidden>
            <label class="label" for="stage-file">"Attach files (optional)"</label>
            <p class="hint" id="stage-file-hint">
                {format!("Logs, screenshots, documents: up to {} each. You can also drop files on the form or paste a screenshot into the text.", human_size(limit))}
            </p>
            <input class="input" type="file" id="stage-file" multiple aria-describedby="stage-file-hint"/>
            <input type="hidden" name="attachments" value=tokens/>
            <input type="hidden" name="staged_names" value=names/>
            <ul class="uploads" aria-live="polite">
                {staged.into_iter().map(|(token, name)| view! {
                    <li class="uploads__item">
                        <span>{name.clone()}</span>
                        <span class="meta">"attached"</span>
                        <button type="button" class="link-button" data-unstage=token>{format!("Remove {name}")}</button>
                    </li>
                }).collect_view()}
            </ul>
        </div>
        {fallback.map(|text| view! { <noscript><p class="hint">{text}</p></noscript> })}
    }
}

/// The staged files a refused form carried: each token of its `attachments` field with the name
/// its `staged_names` field gives it (the form's own upload wrote both). A token without a name
/// is still carried, under "file".
pub fn staged_files(tokens: &str, names: &str) -> Vec<(String, String)> {
    tokens
        .split_whitespace()
        .map(|token| {
            let name = names
                .lines()
                .filter_map(|line| line.split_once(' '))
                .find(|(t, _)| *t == token)
                .map(|(_, n)| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "file".into());
            (token.to_string(), name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::staged_files;

    #[test]
    fn a_refused_forms_files_keep_their_names() {
        let names = "aaa canary.log\nbbb screen shot.png\nzzz gone.txt";
        assert_eq!(
            staged_files("aaa bbb ccc", names),
            vec![
                ("aaa".to_string(), "canary.log".to_string()),
                ("bbb".to_string(), "screen shot.png".to_string()),
                ("ccc".to_string(), "file".to_string()),
            ]
        );
        assert!(staged_files("", names).is_empty());
    }
}
