// GraphQL Code Generator: typed documents for every `graphql(...)` call
// under src/, from the server's committed schema (../../schema.graphql,
// which tests/schema_files.rs keeps equal to the running schema).
// GENERATED_DIR lets check.sh generate into a scratch folder and compare.
import type { CodegenConfig } from '@graphql-codegen/cli';

const out = process.env.GENERATED_DIR ?? 'src/generated';

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/**/*.ts', '!src/generated/**'],
  ignoreNoDocuments: false,
  generates: {
    [`${out}/gql/`]: {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string' },
      },
    },
  },
};

export default config;
