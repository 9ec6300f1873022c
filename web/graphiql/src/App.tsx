import { GraphiQL } from 'graphiql';
import { fetcher } from './fetcher';

const defaultQuery = `# Bank GraphQL API (federated supergraph)
#
# 1. Log in to get an access token (uncomment and run):
#
# mutation Login {
#   login(input: { email: "demo@bank.local", password: "..." }) {
#     accessToken
#   }
# }
#
# 2. In the "Headers" tab below, put the token after "Bearer ":
#
#   { "Authorization": "Bearer <accessToken>" }
#
#    (While no token is filled in, the header is not sent.)
#    Subscriptions use the same value as graphql-ws connectionParams.
#
# 3. Ask who you are and which accounts you hold:

query Me {
  me {
    id
    email
    accounts {
      id
      number
      currency
      status
    }
  }
}
`;

const defaultHeaders = `{
  "Authorization": "Bearer "
}
`;

export function App() {
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={defaultQuery}
      defaultHeaders={defaultHeaders}
      isHeadersEditorEnabled
      defaultEditorToolsVisibility="headers"
    />
  );
}
