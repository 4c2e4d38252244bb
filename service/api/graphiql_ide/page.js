// GraphiQL on /graphql, as strawberry's own page sets it up (the query,
// variables and headers in the URL; headers editable and kept), with every
// file served by this service instead of a CDN.
"use strict";

const WELCOME = `# Claims Ledger: ask with a query, run it with Ctrl-Enter or the play button.
# Writes need an editor key: put {"Authorization": "Bearer <key>"} in Headers below.

{
  claims(first: 20) {
    totalCount
    edges { node { key text status { value } } }
  }
}
`;

const parameters = Object.fromEntries(new URLSearchParams(window.location.search));

function updateURL(changes) {
  Object.assign(parameters, changes);
  const kept = Object.entries(parameters).filter(([, value]) => Boolean(value));
  history.replaceState(null, "", "?" + new URLSearchParams(kept).toString());
}

const fetcher = GraphiQL.createFetcher({ url: window.location.href.split("?")[0] });

function LedgerGraphiQL() {
  const [query, setQuery] = React.useState(parameters.q || WELCOME);
  const [variables, setVariables] = React.useState(parameters.variables);
  const [headers, setHeaders] = React.useState(parameters.headers);

  return React.createElement(GraphiQL, {
    fetcher,
    defaultEditorToolsVisibility: true,
    query,
    variables,
    headers,
    onEditQuery(value) {
      setQuery(value);
      updateURL({ q: value });
    },
    onEditVariables(value) {
      setVariables(value);
      updateURL({ variables: value });
    },
    onEditHeaders: setHeaders,
    inputValueDeprecation: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
  });
}

ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(LedgerGraphiQL),
);
