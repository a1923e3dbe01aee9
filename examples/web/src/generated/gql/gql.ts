/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query ProductsWithFactories($first: Int!) {\n    products(first: $first) {\n      nodes {\n        id\n        sku\n        name\n        price\n        factory {\n          id\n          name\n          country\n          certifications\n        }\n      }\n    }\n  }\n": typeof types.ProductsWithFactoriesDocument,
    "\n  query Stores {\n    stores(first: 20) {\n      nodes {\n        id\n        name\n      }\n    }\n  }\n": typeof types.StoresDocument,
    "\n  query StoreWithItems($id: ID!) {\n    store(id: $id) {\n      id\n      name\n      items {\n        id\n        name\n        price\n        updatedAt\n      }\n    }\n  }\n": typeof types.StoreWithItemsDocument,
    "\n  subscription ItemChanged($storeId: ID!) {\n    itemChanged(storeId: $storeId) {\n      kind\n      item {\n        id\n        name\n        price\n        updatedAt\n      }\n    }\n  }\n": typeof types.ItemChangedDocument,
};
const documents: Documents = {
    "\n  query ProductsWithFactories($first: Int!) {\n    products(first: $first) {\n      nodes {\n        id\n        sku\n        name\n        price\n        factory {\n          id\n          name\n          country\n          certifications\n        }\n      }\n    }\n  }\n": types.ProductsWithFactoriesDocument,
    "\n  query Stores {\n    stores(first: 20) {\n      nodes {\n        id\n        name\n      }\n    }\n  }\n": types.StoresDocument,
    "\n  query StoreWithItems($id: ID!) {\n    store(id: $id) {\n      id\n      name\n      items {\n        id\n        name\n        price\n        updatedAt\n      }\n    }\n  }\n": types.StoreWithItemsDocument,
    "\n  subscription ItemChanged($storeId: ID!) {\n    itemChanged(storeId: $storeId) {\n      kind\n      item {\n        id\n        name\n        price\n        updatedAt\n      }\n    }\n  }\n": types.ItemChangedDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProductsWithFactories($first: Int!) {\n    products(first: $first) {\n      nodes {\n        id\n        sku\n        name\n        price\n        factory {\n          id\n          name\n          country\n          certifications\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ProductsWithFactories($first: Int!) {\n    products(first: $first) {\n      nodes {\n        id\n        sku\n        name\n        price\n        factory {\n          id\n          name\n          country\n          certifications\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Stores {\n    stores(first: 20) {\n      nodes {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  query Stores {\n    stores(first: 20) {\n      nodes {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query StoreWithItems($id: ID!) {\n    store(id: $id) {\n      id\n      name\n      items {\n        id\n        name\n        price\n        updatedAt\n      }\n    }\n  }\n"): (typeof documents)["\n  query StoreWithItems($id: ID!) {\n    store(id: $id) {\n      id\n      name\n      items {\n        id\n        name\n        price\n        updatedAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ItemChanged($storeId: ID!) {\n    itemChanged(storeId: $storeId) {\n      kind\n      item {\n        id\n        name\n        price\n        updatedAt\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription ItemChanged($storeId: ID!) {\n    itemChanged(storeId: $storeId) {\n      kind\n      item {\n        id\n        name\n        price\n        updatedAt\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;