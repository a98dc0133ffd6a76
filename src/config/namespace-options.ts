/**
 * Option table rows: topic namespaces (PROTOCOL.md, Namespaces).
 * Assembled, in `--help` order, by `option-definitions.ts` (see its header).
 */
import { Namespaces } from '../util/namespaces.js';
import type { OptionDefinition } from './option-types.js';

export const NAMESPACE_OPTIONS = [
  {
    scope: 'node',
    key: 'namespaces', flag: '--namespaces', env: 'HERALD_NAMESPACES', type: 'json', placeholder: 'json',
    parse: (json: unknown) => Namespaces.parse(json),
    description: 'Topic namespaces, usually in the config file: an ordered list of {"topics": "<glob>", …rules}; the '
      + 'first whose glob (* any run, ? one character) matches a topic rules it: subscribe (anyone, login, token, '
      + 'proxy), historySize, historyTtl, joinLeave, presence, maxSubscribers (per node), publish. Topics of no '
      + 'namespace behave as without namespaces; null: none. See PROTOCOL.md, Namespaces.',
  },
] as const satisfies readonly OptionDefinition[];
