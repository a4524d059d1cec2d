/**
 * Encoders for the ONNX messages an exported model uses, with the field numbers of onnx.proto
 * (onnx/onnx, `onnx/onnx.proto`; proto2 syntax, so repeated numbers are written unpacked, one
 * key per element, which every protobuf parser reads).
 */
import { ProtoWriter } from './protobuf';

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;
/** DataType numbers to names, for `inspectOnnx`. */
export const DATA_TYPE_NAMES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

/** AttributeProto.AttributeType values used here. */
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

/** Field numbers, per message (onnx.proto). */
export const F = {
  model: { irVersion: 1, producerName: 2, producerVersion: 3, domain: 4, modelVersion: 5, docString: 6, graph: 7, opsetImport: 8, metadataProps: 14 },
  opset: { domain: 1, version: 2 },
  stringEntry: { key: 1, value: 2 },
  graph: { node: 1, name: 2, initializer: 5, docString: 10, input: 11, output: 12, valueInfo: 13 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5, docString: 6, domain: 7 },
  attribute: { name: 1, f: 2, i: 3, s: 4, t: 5, floats: 7, ints: 8, type: 20 },
  tensor: { dims: 1, dataType: 2, floatData: 4, int64Data: 7, name: 8, rawData: 9 },
  valueInfo: { name: 1, type: 2, docString: 3 },
  type: { tensorType: 1 },
  tensorType: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dim: { value: 1, param: 2 },
} as const;

/** A node attribute: an int, a float, a list of ints or a string. */
export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'string'; value: string };

export const attr = {
  int: (value: number): Attribute => ({ kind: 'int', value }),
  float: (value: number): Attribute => ({ kind: 'float', value }),
  ints: (value: readonly number[]): Attribute => ({ kind: 'ints', value }),
  string: (value: string): Attribute => ({ kind: 'string', value }),
};

function attributeProto(name: string, a: Attribute): ProtoWriter {
  const w = new ProtoWriter().string(F.attribute.name, name);
  switch (a.kind) {
    case 'float':
      w.float(F.attribute.f, a.value).int(F.attribute.type, AttributeType.FLOAT);
      break;
    case 'int':
      w.int(F.attribute.i, a.value).int(F.attribute.type, AttributeType.INT);
      break;
    case 'string':
      w.string(F.attribute.s, a.value).int(F.attribute.type, AttributeType.STRING);
      break;
    case 'ints':
      for (const v of a.value) w.int(F.attribute.ints, v);
      w.int(F.attribute.type, AttributeType.INTS);
      break;
  }
  return w;
}

/** NodeProto: one operator application of the default (ai.onnx) domain. */
export function nodeProto(opType: string, inputs: readonly string[], outputs: readonly string[], name: string, attributes: Record<string, Attribute> = {}): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of inputs) w.string(F.node.input, i);
  for (const o of outputs) w.string(F.node.output, o);
  w.string(F.node.name, name).string(F.node.opType, opType);
  for (const [k, a] of Object.entries(attributes)) w.message(F.node.attribute, attributeProto(k, a));
  return w;
}

/** TensorProto with its data as raw little-endian bytes (`raw_data`). An empty `dims` is a scalar. */
export function tensorProto(name: string, dataType: number, dims: readonly number[], raw: Uint8Array): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of dims) w.int(F.tensor.dims, d);
  return w.int(F.tensor.dataType, dataType).string(F.tensor.name, name).bytes(F.tensor.rawData, raw);
}

/** ValueInfoProto of a tensor: a number is a fixed dimension, a string a named dynamic one. */
export function valueInfoProto(name: string, elemType: number, shape: readonly (number | string)[], docString?: string): ProtoWriter {
  const dims = new ProtoWriter();
  for (const d of shape) {
    const dim = typeof d === 'number' ? new ProtoWriter().int(F.dim.value, d) : new ProtoWriter().string(F.dim.param, d);
    dims.message(F.shape.dim, dim);
  }
  const tensorType = new ProtoWriter().int(F.tensorType.elemType, elemType).message(F.tensorType.shape, dims);
  const type = new ProtoWriter().message(F.type.tensorType, tensorType);
  const w = new ProtoWriter().string(F.valueInfo.name, name).message(F.valueInfo.type, type);
  if (docString) w.string(F.valueInfo.docString, docString);
  return w;
}

export interface GraphParts {
  name: string;
  nodes: ProtoWriter[];
  initializers: ProtoWriter[];
  inputs: ProtoWriter[];
  outputs: ProtoWriter[];
  docString?: string;
}

export function graphProto(g: GraphParts): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(F.graph.node, n);
  w.string(F.graph.name, g.name);
  for (const t of g.initializers) w.message(F.graph.initializer, t);
  if (g.docString) w.string(F.graph.docString, g.docString);
  for (const i of g.inputs) w.message(F.graph.input, i);
  for (const o of g.outputs) w.message(F.graph.output, o);
  return w;
}

export interface ModelParts {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: ProtoWriter;
  metadata?: Record<string, string>;
}

/** ModelProto: the file. */
export function modelProto(m: ModelParts): Uint8Array {
  const w = new ProtoWriter()
    .int(F.model.irVersion, m.irVersion)
    .string(F.model.producerName, m.producerName)
    .string(F.model.producerVersion, m.producerVersion);
  if (m.docString) w.string(F.model.docString, m.docString);
  w.message(F.model.graph, m.graph);
  // The default domain ("" = ai.onnx) at the requested opset.
  w.message(F.model.opsetImport, new ProtoWriter().string(F.opset.domain, '').int(F.opset.version, m.opset));
  for (const [key, value] of Object.entries(m.metadata ?? {})) {
    w.message(F.model.metadataProps, new ProtoWriter().string(F.stringEntry.key, key).string(F.stringEntry.value, value));
  }
  return w.finish();
}
