"""The served page's main area: the work (tabs and results) beside the live panes.

From 1280 px wide the two share the screen, split by a bar the user drags; the
panes side collapses to a strip. Narrower, the panes stack below the work. Panel
has no split layout of its own, so this is a small ESM component.
"""
from __future__ import annotations

import param
from panel.custom import Child, JSComponent

WIDE = 1280  # px of viewport from which the panes sit beside the work

CSS = f"""
:host {{ width: 100%; }}
.workspace {{ display: flex; width: 100%; flex: 1 1 auto; height: calc(100vh - 96px);
              min-height: 480px; }}
.work {{ flex: 1 1 auto; min-width: 360px; overflow: auto; padding-right: 6px; }}
.gutter {{ flex: 0 0 8px; cursor: col-resize; background: var(--neutral-fill-rest, #e4e4e4);
          border-radius: 4px; }}
.gutter:hover, .dragging .gutter {{ background: var(--accent-fill-rest, #2d6ca2); }}
.panes {{ flex: 0 0 var(--panes-width); min-width: 240px; max-width: 75%; overflow: auto;
         padding-left: 6px; }}
.panes-bar {{ display: flex; justify-content: flex-end; }}
.toggle {{ font: inherit; font-size: 12px; cursor: pointer; border: 1px solid #bbb;
          border-radius: 4px; background: transparent; color: inherit; padding: 2px 8px; }}
.collapsed .panes {{ flex-basis: 34px; min-width: 34px; overflow: hidden; }}
.collapsed .panes-body {{ display: none; }}
.collapsed .toggle {{ writing-mode: vertical-rl; padding: 8px 2px; }}
.cover {{ position: fixed; inset: 0; cursor: col-resize; z-index: 10000; }}
@media (max-width: {WIDE - 1}px) {{
  .workspace {{ flex-direction: column; height: auto; }}
  .work, .panes {{ overflow: visible; padding: 0; max-width: none; }}
  .panes {{ flex-basis: auto; }}
  .gutter {{ display: none; }}
}}
"""

ESM = """
export function render({ model, el }) {
  const root = document.createElement("div")
  root.className = "workspace"
  const work = document.createElement("div")
  work.className = "work"
  work.append(model.get_child("work"))
  const gutter = document.createElement("div")
  gutter.className = "gutter"
  gutter.title = "Drag to resize the panes"
  const panes = document.createElement("div")
  panes.className = "panes"
  const bar = document.createElement("div")
  bar.className = "panes-bar"
  const toggle = document.createElement("button")
  toggle.className = "toggle"
  bar.append(toggle)
  const body = document.createElement("div")
  body.className = "panes-body"
  body.append(model.get_child("panes"))
  panes.append(bar, body)
  root.append(work, gutter, panes)

  const show = () => {
    root.style.setProperty("--panes-width", `${model.panes_width}px`)
    root.classList.toggle("collapsed", model.collapsed)
    toggle.textContent = model.collapsed ? "Show panes" : "Hide panes"
    toggle.setAttribute("aria-expanded", String(!model.collapsed))
  }
  show()
  model.on(["panes_width", "collapsed"], show)

  // This tab's id, kept over reloads (the theme switch reloads the page): the server
  // gives a reloaded tab its history back. Random, and never in the URL a user shares.
  try {
    let id = sessionStorage.getItem("dask-workbench-tab")
    if (!id) {
      const bytes = crypto.getRandomValues(new Uint8Array(16))
      id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
      sessionStorage.setItem("dask-workbench-tab", id)
    }
    model.tab_id = id
  } catch (e) { /* storage off: a reload starts afresh */ }

  // A closed or reloaded tab says so at once: its work on the cluster stops now, not
  // when Bokeh's unused-session check ends the session (15 to 30 s later). Said at
  // beforeunload too, while the socket is surely open: a message sent at pagehide
  // can be lost with the socket's close on a busy machine. Saying it twice is harmless.
  const closing = () => model.send_msg({ closing: true })
  window.addEventListener("beforeunload", closing)
  window.addEventListener("pagehide", closing)
  toggle.addEventListener("click", () => { model.collapsed = !model.collapsed })

  // Dragging the gutter: a cover keeps the panes' iframes from taking the mouse.
  gutter.addEventListener("pointerdown", (down) => {
    down.preventDefault()
    const cover = document.createElement("div")
    cover.className = "cover"
    root.append(cover)
    root.classList.add("dragging")
    const right = root.getBoundingClientRect().right
    const move = (e) => {
      const width = Math.round(Math.min(Math.max(right - e.clientX, 240),
                                        root.clientWidth * 0.75))
      root.style.setProperty("--panes-width", `${width}px`)
    }
    const up = (e) => {
      move(e)
      cover.remove()
      root.classList.remove("dragging")
      window.removeEventListener("pointermove", move)
      window.removeEventListener("pointerup", up)
      model.panes_width = parseInt(root.style.getPropertyValue("--panes-width"))
    }
    window.addEventListener("pointermove", move)
    window.addEventListener("pointerup", up)
  })

  // Bring a result into view: the first element (through shadow roots) with the class,
  // looked for a few times, as the result may still be being drawn.
  const find = (node, name) => {
    for (const child of node.children || []) {
      if (child.classList && child.classList.contains(name)) return child
      const found = (child.shadowRoot && find(child.shadowRoot, name)) || find(child, name)
      if (found) return found
    }
    return null
  }
  model.on("msg:custom", (msg) => {
    let tries = 30
    const look = () => {
      const target = find(work, msg.reveal)
      if (target) target.scrollIntoView({ block: "start" })
      else if (--tries > 0) setTimeout(look, 100)
    }
    look()
  })
  return root
}
"""


class Workspace(JSComponent):
    """The work and the live Dask panes, side by side on a wide screen."""

    work = Child(doc="The tabs and their results.")
    panes = Child(doc="The live Dask dashboard panes.")
    panes_width = param.Integer(default=520, bounds=(240, None), doc=(
        "Width in px of the panes beside the work; the user drags the bar to change it."))
    collapsed = param.Boolean(default=False, doc="The panes folded to a strip.")
    tab_id = param.String(default="", doc=(
        "The browser tab's id, kept over reloads (see carry_over)."))
    closing = param.Event(doc="The page is going away (closed or reloaded).")

    _esm = ESM
    _stylesheets = [CSS]

    def _handle_msg(self, msg) -> None:  # Panel's hook for the page's model.send_msg
        if isinstance(msg, dict) and msg.get("closing"):
            self.param.trigger("closing")

    def reveal(self, css_class: str) -> None:
        """Scroll the work so the element with ``css_class`` is in view (a new result)."""
        self._send_msg({"reveal": css_class})
