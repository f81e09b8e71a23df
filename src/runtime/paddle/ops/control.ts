import {
  ONNX_ELEMENT_TYPES,
  operand,
  operands,
  result,
  UnsupportedOpForm,
  valueInfo,
  type MapperTables,
  type OpMapper,
} from '../context.js';
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

/** `if` (PIR, or a ProgramDesc conditional_block) → ONNX If: both branches become subgraphs without inputs. */
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

/**
 * ProgramDesc select_input(X, Mask): X[Mask], the value of whichever conditional_block ran. An If
 * rather than Where, as the branch not taken holds a placeholder of another shape.
 */
const selectInput: OpMapper = (op, ctx) => {
  const choices = operands(op, 'X');
  if (choices.length !== 2) throw new UnsupportedOpForm(`select_input over ${choices.length} inputs`);
  const mask = ctx.tmp('Cast', [operand(op, 'Mask')], { dtype: 'bool', shape: [1] }, { to: ONNX_ELEMENT_TYPES.bool });
  const pick = (value: string) => ({ graph: ctx.subgraph('select', { args: [], ops: [], results: [value] }, []) });
  ctx.node('If', [mask], [result(op, 'Out')], { then_branch: pick(choices[1]!), else_branch: pick(choices[0]!) });
};

export const controlMappers: MapperTables = {
  programDesc: { while: whileLoop, if: branch, select_input: selectInput },
  pir: { while: whileLoop, if: branch },
};
