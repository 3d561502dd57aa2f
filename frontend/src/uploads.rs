//! Files in forms, once the script has loaded: chosen, dropped or pasted files upload at once
//! with a progress bar each. Written against the DOM because the lists it fills
//! belong to no component's state.
//!
//! - A staging area (`[data-stage]`, in the case form and the reply forms) uploads each file to
//!   `/attachments` and adds its token to the form's hidden `attachments` field; a pasted image
//!   also goes into the text as Markdown, where it shows once sent.
//! - The case page's "Add files" form (`form[data-upload]`) sends each file to its own address and
//!   reloads the page when all arrived; without script it is a plain multipart form.
//!
//! A file over the size limit (`data-max`) is refused here, before any byte is sent.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{
    ClipboardEvent, Document, DragEvent, Element, Event, File, FormData, HtmlFormElement,
    HtmlInputElement, HtmlTextAreaElement, ProgressEvent, XmlHttpRequest,
};

/// Installs the listeners, once.
pub fn install(document: &Document) {
    listen(document, "change", on_change);
    listen(document, "dragover", on_dragover);
    listen(document, "drop", on_drop);
    listen(document, "paste", on_paste);
    listen(document, "submit", on_submit);
    listen(document, "click", on_click);
}

/// Shows the staging areas (they need script). Called once the page is interactive.
pub fn reveal(document: &Document) {
    for area in all(document, "[data-stage][hidden]") {
        let _ = area.remove_attribute("hidden");
    }
}

fn listen(document: &Document, name: &str, handler: fn(Event)) {
    let callback = Closure::<dyn Fn(Event)>::new(handler);
    let _ = document.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
    callback.forget();
}

fn all(document: &Document, selector: &str) -> Vec<Element> {
    let Ok(found) = document.query_selector_all(selector) else {
        return Vec::new();
    };
    (0..found.length())
        .filter_map(|i| found.item(i).and_then(|n| n.dyn_into::<Element>().ok()))
        .collect()
}

/// The element an event happened on, as a `T` (a form, an input), if it is one.
fn target_as<T: JsCast>(event: &Event) -> Option<T> {
    event.target().and_then(|t| t.dyn_into::<T>().ok())
}

fn target_element(event: &Event) -> Option<Element> {
    target_as::<Element>(event)
}

/// The staging area or upload form that `el` belongs to (in its form).
fn drop_zone(el: &Element) -> Option<Element> {
    let form = el.closest("form").ok().flatten()?;
    if form.has_attribute("data-upload") {
        return Some(form);
    }
    form.query_selector("[data-stage]").ok().flatten()
}

fn files_of(list: Option<web_sys::FileList>) -> Vec<File> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// A file chosen in a staging area's picker uploads at once.
fn on_change(event: Event) {
    let Some(input) = target_as::<HtmlInputElement>(&event) else {
        return;
    };
    let Some(area) = input.closest("[data-stage]").ok().flatten() else {
        return;
    };
    for file in files_of(input.files()) {
        stage(&area, file, None);
    }
    input.set_value("");
}

fn on_dragover(event: Event) {
    if target_element(&event)
        .and_then(|el| drop_zone(&el))
        .is_some()
    {
        event.prevent_default();
    }
}

/// Files dropped on a form with a staging area upload; dropped on the "Add files" form they
/// become its chosen files.
fn on_drop(event: Event) {
    let Some(zone) = target_element(&event).and_then(|el| drop_zone(&el)) else {
        return;
    };
    let Some(transfer) = event.dyn_ref::<DragEvent>().and_then(|d| d.data_transfer()) else {
        return;
    };
    event.prevent_default();
    if zone.has_attribute("data-upload") {
        if let Some(input) = picker(&zone) {
            input.set_files(transfer.files().as_ref());
        }
        return;
    }
    for file in files_of(transfer.files()) {
        stage(&zone, file, None);
    }
}

/// A pasted image (a screenshot) uploads; pasted into a text area, it goes into the text too.
fn on_paste(event: Event) {
    let Some(el) = target_element(&event) else {
        return;
    };
    let Some(clipboard) = event
        .dyn_ref::<ClipboardEvent>()
        .and_then(|c| c.clipboard_data())
    else {
        return;
    };
    let files = files_of(clipboard.files());
    if files.is_empty() {
        return;
    }
    let Some(zone) = drop_zone(&el) else {
        return;
    };
    event.prevent_default();
    if zone.has_attribute("data-upload") {
        if let Some(input) = picker(&zone) {
            input.set_files(clipboard.files().as_ref());
        }
        return;
    }
    let text = el.dyn_into::<HtmlTextAreaElement>().ok();
    for file in files {
        stage(&zone, file, text.clone());
    }
}

fn picker(form: &Element) -> Option<HtmlInputElement> {
    form.query_selector("input[type=file]")
        .ok()
        .flatten()
        .and_then(|el| el.dyn_into::<HtmlInputElement>().ok())
}

fn limit_of(el: &Element) -> f64 {
    el.get_attribute("data-max")
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(f64::MAX)
}

/// A line of the upload list: the name, a progress bar and a place for the outcome.
fn upload_line(zone: &Element, file: &File) -> Option<(Element, Element)> {
    let document = zone.owner_document()?;
    let list = zone.query_selector("ul.uploads").ok().flatten()?;
    let line = document.create_element("li").ok()?;
    line.set_class_name("uploads__item");
    let name = document.create_element("span").ok()?;
    name.set_text_content(Some(&file.name()));
    let bar = document.create_element("progress").ok()?;
    let _ = bar.set_attribute("max", "100");
    let _ = bar.set_attribute("value", "0");
    let _ = bar.set_attribute("aria-label", &format!("Uploading {}", file.name()));
    let _ = line.append_child(&name);
    let _ = line.append_child(&bar);
    let _ = list.append_child(&line);
    Some((line, bar))
}

/// Ends line `line` with `message` (an error when `failed`), replacing its progress bar.
fn finish_line(line: &Element, message: &str, failed: bool) {
    if let Ok(Some(bar)) = line.query_selector("progress") {
        bar.remove();
    }
    let Some(document) = line.owner_document() else {
        return;
    };
    if let Ok(note) = document.create_element("span") {
        note.set_class_name(if failed { "field-error" } else { "meta" });
        note.set_text_content(Some(message));
        let _ = line.append_child(&note);
    }
}

fn human_size(bytes: f64) -> String {
    app::model::attachments::human_size(bytes as i64)
}

/// Uploads `file` ahead of the form of staging area `area`; on success its token joins the form's
/// `attachments` field, and — pasted into `text` — a Markdown image or link to it joins the text.
fn stage(area: &Element, file: File, text: Option<HtmlTextAreaElement>) {
    let Some((line, bar)) = upload_line(area, &file) else {
        return;
    };
    let limit = limit_of(area);
    if file.size() > limit {
        finish_line(
            &line,
            &format!("is larger than the {} a file may be", human_size(limit)),
            true,
        );
        return;
    }
    let Some(form) = area.closest("form").ok().flatten() else {
        return;
    };
    busy(&form, 1);
    let area = area.clone();
    send(&file, "/attachments", None, bar, move |outcome| {
        busy(&form, -1);
        match outcome {
            Ok(answer) => {
                let token = field(&answer, "token");
                let href = field(&answer, "href");
                let name = field(&answer, "name");
                if let Some(hidden) = hidden_field(&area, "attachments") {
                    let value = hidden.value();
                    hidden.set_value(format!("{value} {token}").trim());
                }
                // Its name too, so a refused form lists it again when it comes back.
                if let Some(names) = hidden_field(&area, "staged_names") {
                    let value = names.value();
                    names.set_value(format!("{value}\n{token} {name}").trim());
                }
                finish_line(&line, "attached", false);
                if let Some(document) = line.owner_document() {
                    if let Ok(remove) = document.create_element("button") {
                        let _ = remove.set_attribute("type", "button");
                        let _ = remove.set_attribute("data-unstage", &token);
                        remove.set_class_name("link-button");
                        remove.set_text_content(Some(&format!("Remove {name}")));
                        let _ = line.append_child(&remove);
                    }
                }
                if let Some(text) = text {
                    let image = field(&answer, "type").starts_with("image/");
                    let markdown = format!("{}[{name}]({href})", if image { "!" } else { "" });
                    let _ = text.set_range_text(&markdown);
                    // As if typed: what follows the text (the KB editor's preview) sees it.
                    let init = web_sys::EventInit::new();
                    init.set_bubbles(true);
                    if let Ok(typed) = Event::new_with_event_init_dict("input", &init) {
                        let _ = text.dispatch_event(&typed);
                    }
                }
            }
            Err(message) => finish_line(&line, &message, true),
        }
    });
}

/// A value of a JSON object as text.
fn field(answer: &serde_json::Value, name: &str) -> String {
    answer[name].as_str().unwrap_or_default().to_string()
}

/// Counts uploads in flight on `form` (`data-uploading`), which holds its submit meanwhile.
fn busy(form: &Element, change: i32) {
    let now = form
        .get_attribute("data-uploading")
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(0)
        + change;
    if now > 0 {
        let _ = form.set_attribute("data-uploading", &now.to_string());
    } else {
        let _ = form.remove_attribute("data-uploading");
    }
}

/// The hidden field `name` of staging area `area`.
fn hidden_field(area: &Element, name: &str) -> Option<HtmlInputElement> {
    area.query_selector(&format!("input[name={name}]"))
        .ok()
        .flatten()
        .and_then(|el| el.dyn_into::<HtmlInputElement>().ok())
}

/// Posts `file` (and `internal`, when given) to `url` as multipart, asking for JSON; moves `bar`
/// along, then calls `done` with the first file of the answer or the error to show.
fn send(
    file: &File,
    url: &str,
    internal: Option<bool>,
    bar: Element,
    done: impl FnOnce(Result<serde_json::Value, String>) + 'static,
) {
    let Ok(request) = XmlHttpRequest::new() else {
        return done(Err("could not be sent: try the button instead".into()));
    };
    let Ok(data) = FormData::new() else {
        return done(Err("could not be sent".into()));
    };
    if internal == Some(true) {
        let _ = data.append_with_str("internal", "on");
    }
    let _ = data.append_with_blob_and_filename("file", file, &file.name());
    let _ = request.open("POST", url);
    let _ = request.set_request_header("Accept", "application/json");
    if let Ok(upload) = request.upload() {
        let progress = Closure::<dyn Fn(ProgressEvent)>::new(move |e: ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                let percent = (e.loaded() / e.total() * 100.0).round();
                let _ = bar.set_attribute("value", &percent.to_string());
            }
        });
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
        progress.forget();
    }
    let answered = request.clone();
    let done = std::cell::RefCell::new(Some(done));
    let finished = Closure::<dyn Fn(Event)>::new(move |_| {
        let Some(done) = done.borrow_mut().take() else {
            return;
        };
        let status = answered.status().unwrap_or(0);
        let body = answered.response_text().ok().flatten().unwrap_or_default();
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if (200..300).contains(&status) {
            done(Ok(json["files"][0].clone()))
        } else if let Some(error) = json["error"].as_str() {
            done(Err(error.to_string()))
        } else if status == 0 {
            done(Err(
                "did not arrive: the connection broke off. Try again.".into()
            ))
        } else {
            done(Err(format!("was refused ({status}). Try again.")))
        }
    });
    request.set_onloadend(Some(finished.as_ref().unchecked_ref()));
    finished.forget();
    // A request that cannot even start ends at once: its `loadend` still reports it.
    let _ = request.send_with_opt_form_data(Some(&data));
}

/// The "Add files" form, with script: each file goes on its own with its progress; the page
/// reloads when all arrived.
fn on_submit(event: Event) {
    let Some(form) = target_as::<HtmlFormElement>(&event) else {
        return;
    };
    if !form.has_attribute("data-upload") {
        return;
    }
    let Some(input) = picker(&form) else {
        return;
    };
    let files = files_of(input.files());
    if files.is_empty() {
        // The server answers with the message beside the field.
        return;
    }
    event.prevent_default();
    let internal = form
        .query_selector("input[name=internal]")
        .ok()
        .flatten()
        .and_then(|el| el.dyn_into::<HtmlInputElement>().ok())
        .map(|el| el.checked());
    let limit = limit_of(&form);
    let url = form.action();
    let waiting = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let failed = std::rc::Rc::new(std::cell::Cell::new(false));
    for file in files {
        let Some((line, bar)) = upload_line(&form, &file) else {
            continue;
        };
        if file.size() > limit {
            finish_line(
                &line,
                &format!("is larger than the {} a file may be", human_size(limit)),
                true,
            );
            failed.set(true);
            continue;
        }
        waiting.set(waiting.get() + 1);
        busy(&form, 1);
        let (waiting, failed, form) = (waiting.clone(), failed.clone(), form.clone());
        send(&file, &url, internal, bar, move |outcome| {
            busy(&form, -1);
            match outcome {
                Ok(_) => finish_line(&line, "uploaded", false),
                Err(message) => {
                    failed.set(true);
                    finish_line(&line, &message, true);
                }
            }
            waiting.set(waiting.get() - 1);
            if waiting.get() == 0 && !failed.get() {
                if let Some(location) = web_sys::window().map(|w| w.location()) {
                    let _ = location.reload();
                }
            }
        });
    }
    input.set_value("");
    let _ = form.remove_attribute("data-pending");
}

/// "Remove" beside a staged file takes it out of the form.
fn on_click(event: Event) {
    let Some(button) =
        target_element(&event).and_then(|el| el.closest("button[data-unstage]").ok().flatten())
    else {
        return;
    };
    let token = button.get_attribute("data-unstage").unwrap_or_default();
    let area = button.closest("[data-stage]").ok().flatten();
    if let Some(hidden) = area.as_ref().and_then(|a| hidden_field(a, "attachments")) {
        let kept: Vec<String> = hidden
            .value()
            .split_whitespace()
            .filter(|t| *t != token)
            .map(str::to_string)
            .collect();
        hidden.set_value(&kept.join(" "));
    }
    if let Some(names) = area.as_ref().and_then(|a| hidden_field(a, "staged_names")) {
        let value = names.value();
        let kept: Vec<&str> = value
            .lines()
            .filter(|line| line.split_once(' ').is_none_or(|(t, _)| t != token))
            .collect();
        names.set_value(&kept.join("\n"));
    }
    if let Some(line) = button.closest("li").ok().flatten() {
        line.remove();
    }
}
