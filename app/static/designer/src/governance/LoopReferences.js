// SpiffWorkflow reads `<bpmn:loopDataInputRef>units</bpmn:loopDataInputRef>` (and loopDataOutputRef) as the
// name of a process variable, while BPMN declares them references to an item-aware element. bpmn-moddle
// finds no element with that id, warns "unresolved reference <units>" and drops the value, so an export
// would silently lose the multi-instance collection. Keep such values as id-only placeholders instead:
// they export exactly as read, and `isRestored` tells which import warnings no longer apply.

const LOOP_REFERENCES = ['bpmn:loopDataInputRef', 'bpmn:loopDataOutputRef'];

export default class LoopReferences {
  constructor(eventBus, moddle) {
    eventBus.on('import.parse.complete', (event) => {
      const { elementsById, references } = event;
      for (const reference of references || []) {
        if (!LOOP_REFERENCES.includes(reference.property) || (elementsById && elementsById[reference.id])) {
          continue;
        }
        // A bare bpmn:DataInput that nothing contains: serialised only as the reference's id.
        const placeholder = moddle.create('bpmn:DataInput', { id: reference.id });
        reference.element.set(reference.property, placeholder);
      }
    });
  }

  /** Whether an import warning is an unresolved loop reference kept as a placeholder. */
  isRestored(warning) {
    const { element, property, value } = warning || {};
    if (!element || !LOOP_REFERENCES.includes(property)) {
      return false;
    }
    const kept = element.get(property);
    return !!kept && kept.id === value;
  }
}

LoopReferences.$inject = ['eventBus', 'moddle'];
