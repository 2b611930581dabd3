export {
  CompositionError,
  DEFAULT_SUBGRAPHS_DIR,
  DEFAULT_SUPERGRAPH_PATH,
  checkSupergraph,
  composeSubgraphs,
  composeSupergraph,
  formatCompositionErrors,
  readSubgraphSources,
  type CheckResult,
  type ComposeOptions,
  type SubgraphSource,
} from './compose.ts';
export {
  CLIENT_KEY_CONNECTION_PARAM,
  CLIENT_KEY_HEADER,
  GATEWAY_DEFAULT_PORT,
  ROUTER_SECRET_CONNECTION_PARAM,
  ROUTER_SECRET_HEADER,
  SUBGRAPH_NAMES,
  SUBGRAPH_PORTS,
  defaultSubgraphUrl,
  isSubgraphName,
  type SubgraphName,
} from './subgraphs.ts';
export {
  DURATION_BUCKETS,
  errorCodeLabel,
  operationLabel,
  MAX_LABELLED_ROOT_FIELDS,
} from './operation-labels.ts';
export {
  TRUNK_FLUSH_BYTES,
  TRUNK_PATH,
  TRUNK_PROTOCOL,
  TrunkProtocolError,
  TrunkRecordKind,
  TrunkWriter,
  decodeTrunkClose,
  decodeTrunkMessage,
  encodeTrunkClose,
  trunkMaxPayload,
  type TrunkRecord,
} from './trunk.ts';
