/**
 * The console's view of the browser (runs in the browser, served as
 * `/console/dom.js`): the little of the DOM the page uses, typed here because
 * the project compiles without the DOM library (it is a Node program), the
 * browser globals, and the helpers that find and make elements.
 */
import type { WebSocketConstructor, WebSocketLike } from '../client/types.js';

export interface DomEvent {
  preventDefault(): void;
}
export interface DomElement {
  textContent: string | null;
  hidden: boolean;
  className: string;
  readonly dataset: Record<string, string | undefined>;
  readonly childElementCount: number;
  readonly firstElementChild: DomElement | null;
  scrollTop: number;
  readonly scrollHeight: number;
  readonly clientHeight: number;
  append(...nodes: (DomElement | string)[]): void;
  replaceChildren(...nodes: (DomElement | string)[]): void;
  remove(): void;
  setAttribute(name: string, value: string): void;
  addEventListener(type: string, listener: (event: DomEvent) => void): void;
  focus(): void;
}
export interface FormField extends DomElement {
  value: string;
  checked: boolean;
}
export interface Browser {
  document: { body: DomElement; getElementById(id: string): DomElement | null; createElement(tag: string): DomElement };
  location: { protocol: string; hostname: string; search: string; href: string };
  history: { replaceState(state: unknown, unused: string, url: string): void };
  sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void; removeItem(key: string): void };
  WebSocket: WebSocketConstructor;
}
export interface CloseEventLike {
  readonly code: number;
  readonly reason: string;
}
export interface ObservableSocket extends WebSocketLike {
  addEventListener(type: 'open' | 'close', listener: (event: CloseEventLike) => void): void;
}

export const { document, location, history, sessionStorage, WebSocket: BrowserSocket } = globalThis as unknown as Browser;

export function element(id: string): DomElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`console page without #${id}`);
  return found;
}
export const field = (id: string) => element(id) as FormField;

export function make(tag: string, className: string, text: string): DomElement {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}
