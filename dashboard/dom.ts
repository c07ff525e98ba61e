/** A tiny element builder: attributes, `on*` listeners, children (strings are text, never HTML). */
type Attr = string | number | boolean | undefined | null | ((e: Event) => void)
export type Child = Node | string | number | null | undefined | false

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.slice(2), v)
    else if (v === true) el.setAttribute(k, '')
    else if (v !== false && v !== undefined && v !== null) el.setAttribute(k, String(v))
  }
  el.append(...nodes(children))
  return el
}

function nodes(children: (Child | Child[])[]): (Node | string)[] {
  return children
    .flat()
    .filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false)
    .map((c) => (typeof c === 'number' ? String(c) : c))
}

/** Replace an element's children. */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren(...nodes(children))
}

const SVG = 'http://www.w3.org/2000/svg'

/** A latency sparkline: the samples as a polyline, newest right. */
export function sparkline(samples: readonly number[], label: string): SVGSVGElement {
  const w = 120
  const hgt = 28
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`)
  svg.setAttribute('class', 'spark')
  svg.setAttribute('role', 'img')
  svg.setAttribute('aria-label', label)
  if (samples.length) {
    const max = Math.max(...samples, 1)
    const step = samples.length > 1 ? w / (samples.length - 1) : 0
    const pts = samples.map(
      (v, i) => `${(i * step).toFixed(1)},${(hgt - 2 - (v / max) * (hgt - 4)).toFixed(1)}`,
    )
    const line = document.createElementNS(SVG, 'polyline')
    line.setAttribute(
      'points',
      samples.length > 1 ? pts.join(' ') : `0,${pts[0]!.split(',')[1]} ${w},${pts[0]!.split(',')[1]}`,
    )
    svg.append(line)
  }
  return svg
}

/** "3 s ago", "2 min ago" (with the ISO time in a title). */
export function ago(iso: string | undefined, now = Date.now()): HTMLElement | string {
  if (!iso) return 'never'
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  const text =
    s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`
  return h('time', { datetime: iso, title: iso }, text)
}
