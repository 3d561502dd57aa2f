// Every page: in-page links move focus, and a form being sent is held. Then it loads the browser
// half (WASM) only on a page that has something for it to do — an island (a part that runs in the
// browser) or files to upload ahead of a form — and hydrates the page's islands. Every other page
// loads no script but this one.
// The islands walk is Leptos's own (leptos/src/hydration/island_script.js, MIT licence).
((jsFile, wasmFile) => {
	const root = document.documentElement;
	// A link to a place on the page (the skip link, an error summary's links) moves focus there,
	// not only the view, so keyboard and screen-reader users land where it points. Every page
	// has one, so this part needs no bundle.
	document.addEventListener('click', (event) => {
		if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) {
			return;
		}
		const link = event.target instanceof Element ? event.target.closest('a[href^="#"]') : null;
		const id = link ? link.getAttribute('href').slice(1) : '';
		const target = id ? document.getElementById(id) : null;
		if (!target) {
			return;
		}
		event.preventDefault();
		if (target.tabIndex < 0 && !target.hasAttribute('tabindex')) {
			target.setAttribute('tabindex', '-1');
		}
		target.scrollIntoView();
		target.focus();
	}, true);
	// A form being sent shows it (`data-pending`: its button says so) and refuses a second submit,
	// which would send it again; one the bundle still uploads files for (`data-uploading`) waits.
	// A form that submits in place (an island's, `data-in-place`) is marked by its island. Search
	// forms (GET) are never held.
	document.addEventListener('submit', (event) => {
		const form = event.target;
		if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() === 'get') {
			return;
		}
		if (form.hasAttribute('data-pending') || form.hasAttribute('data-uploading')) {
			event.preventDefault();
			event.stopImmediatePropagation();
			return;
		}
		if (!form.hasAttribute('data-in-place')) {
			form.setAttribute('data-pending', '');
		}
	}, true);
	// A page the back button restores from the cache is no longer sending its forms.
	window.addEventListener('pageshow', () => {
		for (const form of document.querySelectorAll('form[data-pending]:not([data-in-place])')) {
			form.removeAttribute('data-pending');
		}
	});
	// The bundle: islands, and files uploaded ahead of a form or by the case page's upload form.
	const wanted = document.querySelector('leptos-island, [data-stage], form[data-upload]');
	if (!wanted) {
		root.setAttribute('data-hydrated', '');
		return;
	}
	const childrenCallbacks = [];
	async function traverse(node, mod) {
		if (node.nodeType !== Node.ELEMENT_NODE) {
			return;
		}
		const tag = node.tagName.toLowerCase();
		if (tag === 'leptos-island') {
			await hydrateIsland(node, node.dataset.component || null, mod);
		} else if (tag === 'leptos-children') {
			childrenCallbacks.push(node.$$on_hydrate);
			for (const child of node.children) {
				await traverse(child, mod);
			}
			childrenCallbacks.pop();
			return;
		}
		for (const child of node.children) {
			await traverse(child, mod);
		}
	}
	async function hydrateIsland(el, id, mod) {
		const islandFn = mod[id];
		if (!islandFn) {
			console.warn(`Could not find WASM function for the island ${id}.`);
			return;
		}
		const childrenCallback = childrenCallbacks[childrenCallbacks.length - 1];
		if (childrenCallback) {
			childrenCallback();
		}
		const res = islandFn(el);
		if (res && res.then) {
			await res;
		}
	}
	// The WASM is fetched beside the script that loads it, not after it.
	const wasm = fetch(wasmFile);
	import(jsFile).then(async (mod) => {
		await mod.default({ module_or_path: wasm });
		mod.hydrate();
		await traverse(document.body, mod);
		// Interactive from here: what tests and the time-to-interactive measurement wait for.
		root.setAttribute('data-hydrated', '');
	});
})
