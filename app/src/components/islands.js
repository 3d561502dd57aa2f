// Every page: in-page links move focus. Then it loads the browser half only on a page that has something for it to do — an island (a part that
// runs in the browser) or a form in the page's content (sent once, with files uploaded ahead) —
// and hydrates the page's islands. A page of text and links loads no script at all.
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
	const wanted = document.querySelector('leptos-island, main form[method="post"], main [data-stage]');
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
