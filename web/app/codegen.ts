import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed operations from the composed supergraph. Every `graphql(...)` document in src/ is
// validated against the schema: a schema change that breaks one fails `npm run build`.
const config: CodegenConfig = {
  schema: '../../schema/supergraph.graphql',
  documents: [
    'src/**/*.{ts,tsx}',
    '!src/gql/**',
  ],
  ignoreNoDocuments: false,
  errorsOnly: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        strictScalars: true,
        // The federation directives' scalars come with the composed schema; the app never uses them.
        scalars: { Date: 'string', DateTime: 'string', Decimal: 'string', join__FieldSet: 'string', link__Import: 'string' },
      },
    },
  },
  hooks: {},
};

export default config;
