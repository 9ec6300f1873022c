import { GraphiQL, HISTORY_PLUGIN } from 'graphiql';
import { exampleTabs } from './examples';
import { fetcher } from './fetcher';
import { SIGN_IN_PLUGIN, TokenInHeaders } from './SignIn';

// Headers for a new tab; TokenInHeaders fills in the token once the page has signed in. While
// no token is filled in, the header is not sent (fetcher.ts).
const defaultHeaders = `{
  "Authorization": "Bearer "
}
`;

// Made once: GraphiQL takes them again whenever they change.
const plugins = [SIGN_IN_PLUGIN, HISTORY_PLUGIN];
const tabs = exampleTabs();

export function App() {
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultTabs={tabs}
      defaultHeaders={defaultHeaders}
      isHeadersEditorEnabled
      defaultEditorToolsVisibility="headers"
      plugins={plugins}
      visiblePlugin={SIGN_IN_PLUGIN}
    >
      <TokenInHeaders />
    </GraphiQL>
  );
}
