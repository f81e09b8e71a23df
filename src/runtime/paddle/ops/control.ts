import { operand, result, valueInfo, type MapperTables, type OpMapper } from '../context.js';
import type { PaddleOp } from '../program.js';

/** Operands or results in position order ('0', '1' …), as both readers number control-flow ops'. */
function positional(slots: Record<string, string[]>, read: (slot: string) => string): string[] {
  return Object.keys(slots)
    .sort((a, b) => Number(a) - Number(b))
    .map(read);
}

/**
 * `while` → ONNX Loop with no trip count, the condition deciding each next iteration as in Paddle.
 * Loop-carried values are declared by element type only: Paddle seeds some with placeholders of
 * another shape (a scalar 0 for a [-1, 8] value) that the first iteration replaces.
 */
const whileLoop: OpMapper = (op: PaddleOp, ctx) => {
  const body = op.blocks![0]!;
  const [condition, ...carried] = positional(op.inputs, (slot) => operand(op, slot));
  const [conditionArg, ...carriedArgs] = body.args;
  const inputs = [
    valueInfo(ctx.fresh('iteration'), 'int64', []),
    valueInfo(conditionArg!, 'bool'),
    ...carriedArgs.map((arg) => valueInfo(arg, ctx.dtype(arg))),
  ];
  const graph = ctx.subgraph('loop_body', body, inputs);
  const outputs = positional(op.outputs, (slot) => result(op, slot));
  ctx.node('Loop', ['', condition!, ...carried], outputs, { body: { graph } });
};

/** PIR `if` → ONNX If: both branches become subgraphs without inputs. */
const branch: OpMapper = (op, ctx) => {
  const [thenBlock, elseBlock] = op.blocks!;
  ctx.node(
    'If',
    [operand(op, '0')],
    positional(op.outputs, (slot) => result(op, slot)),
    {
      then_branch: { graph: ctx.subgraph('then', thenBlock!, []) },
      else_branch: { graph: ctx.subgraph('else', elseBlock!, []) },
    },
  );
};

export const controlMappers: MapperTables = {
  programDesc: { while: whileLoop },
  pir: { while: whileLoop, if: branch },
};
