// Every GraphQL operation the app sends; `npm run generate` turns each into
// a typed document in src/generated/gql.
import { graphql } from './generated/gql';

/** Products with their factories: one request, batched on the server. */
export const ProductsWithFactories = graphql(`
  query ProductsWithFactories($first: Int!) {
    products(first: $first) {
      nodes {
        id
        sku
        name
        price
        factory {
          id
          name
          country
          certifications
        }
      }
    }
  }
`);

export const Stores = graphql(`
  query Stores {
    stores(first: 20) {
      nodes {
        id
        name
      }
    }
  }
`);

export const StoreWithItems = graphql(`
  query StoreWithItems($id: ID!) {
    store(id: $id) {
      id
      name
      items {
        id
        name
        price
        updatedAt
      }
    }
  }
`);

export const ItemChanged = graphql(`
  subscription ItemChanged($storeId: ID!) {
    itemChanged(storeId: $storeId) {
      kind
      item {
        id
        name
        price
        updatedAt
      }
    }
  }
`);
