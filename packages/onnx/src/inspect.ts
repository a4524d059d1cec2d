/**
 * A summary of an ONNX file read back from its bytes: versions, inputs and outputs with their
 * shapes, operator counts and initializers. Enough to check an export without a runtime, and to
 * see what a model from elsewhere expects.
 */
import { readFields, fieldText, type ProtoField } from './protobuf';
import { DATA_TYPE_NAMES, F } from './onnx-proto';

/** An input or output of the graph. A string dimension is dynamic (its `dim_param`). */
export interface OnnxTensorInfo {
  name: string;
  /** 'float32', 'int64', ... */
  type: string;
  shape: (number | string)[];
}

/** One initializer (weight or constant) of the graph. */
export interface OnnxInitializerInfo {
  name: string;
  type: string;
  dims: number[];
}

export interface OnnxModelInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  /** Operator sets the model imports; `domain` '' is the default ai.onnx domain. */
  opsets: { domain: string; version: number }[];
  graphName: string;
  inputs: OnnxTensorInfo[];
  outputs: OnnxTensorInfo[];
  /** Number of nodes of each operator type, in order of first use. */
  ops: Record<string, number>;
  nodeCount: number;
  initializers: OnnxInitializerInfo[];
  /** Number of float32 weights over all initializers. */
  floatParameters: number;
  metadata: Record<string, string>;
}

const typeName = (t: number): string => DATA_TYPE_NAMES[t] ?? `type ${t}`;
const fieldsOf = (fs: ProtoField[], n: number) => fs.filter((f) => f.field === n);
const first = (fs: ProtoField[], n: number) => fs.find((f) => f.field === n);

function tensorInfo(bytes: Uint8Array): OnnxTensorInfo {
  const vi = readFields(bytes);
  const name = first(vi, F.valueInfo.name);
  const type = first(vi, F.valueInfo.type);
  const tensor = type ? first(readFields(type.bytes), F.type.tensorType) : undefined;
  const tt = tensor ? readFields(tensor.bytes) : [];
  const elem = first(tt, F.tensorType.elemType);
  const shape = first(tt, F.tensorType.shape);
  const dims = shape
    ? fieldsOf(readFields(shape.bytes), F.shape.dim).map((dim) => {
        const df = readFields(dim.bytes);
        const value = first(df, F.dim.value);
        const param = first(df, F.dim.param);
        return value ? Number(value.int) : param ? fieldText(param) : '?';
      })
    : [];
  return { name: name ? fieldText(name) : '', type: elem ? typeName(Number(elem.int)) : 'unknown', shape: dims };
}

/** Reads the summary of an ONNX model from its bytes; throws a RangeError on bytes that are not one. */
export function inspectOnnx(bytes: Uint8Array): OnnxModelInfo {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('inspectOnnx: expected the model as a Uint8Array');
  const model = readFields(bytes);
  const graphField = first(model, F.model.graph);
  if (!graphField) throw new RangeError('inspectOnnx: no graph in these bytes (not an ONNX model?)');
  const graph = readFields(graphField.bytes);
  const text = (fs: ProtoField[], n: number) => {
    const f = first(fs, n);
    return f ? fieldText(f) : '';
  };

  const ops: Record<string, number> = {};
  const nodes = fieldsOf(graph, F.graph.node);
  for (const n of nodes) {
    const op = text(readFields(n.bytes), F.node.opType);
    ops[op] = (ops[op] ?? 0) + 1;
  }
  let floatParameters = 0;
  const initializers = fieldsOf(graph, F.graph.initializer).map((t) => {
    const tf = readFields(t.bytes);
    const dims = fieldsOf(tf, F.tensor.dims).map((d) => Number(d.int));
    const type = Number(first(tf, F.tensor.dataType)?.int ?? 0);
    if (type === 1) floatParameters += dims.reduce((a, b) => a * b, 1);
    return { name: text(tf, F.tensor.name), type: typeName(type), dims };
  });
  const metadata: Record<string, string> = {};
  for (const e of fieldsOf(model, F.model.metadataProps)) {
    const ef = readFields(e.bytes);
    metadata[text(ef, F.stringEntry.key)] = text(ef, F.stringEntry.value);
  }
  return {
    irVersion: Number(first(model, F.model.irVersion)?.int ?? 0),
    producerName: text(model, F.model.producerName),
    producerVersion: text(model, F.model.producerVersion),
    opsets: fieldsOf(model, F.model.opsetImport).map((o) => {
      const of = readFields(o.bytes);
      return { domain: text(of, F.opset.domain), version: Number(first(of, F.opset.version)?.int ?? 0) };
    }),
    graphName: text(graph, F.graph.name),
    inputs: fieldsOf(graph, F.graph.input).map((f) => tensorInfo(f.bytes)),
    outputs: fieldsOf(graph, F.graph.output).map((f) => tensorInfo(f.bytes)),
    ops,
    nodeCount: nodes.length,
    initializers,
    floatParameters,
    metadata,
  };
}
