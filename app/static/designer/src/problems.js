// Server-side validation problems ({file, line, element, message}) drawn on the diagram: a `has-problem`
// marker on the element and an overlay with the message(s) under its bottom-left corner.

export const MARKER = 'has-problem';
export const OVERLAY_TYPE = 'governance-problem';

function shapeOf(element) {
  const shape = element && element.type === 'label' ? element.labelTarget : element;
  // Roots (the collaboration, a process, a subprocess's plane) have no place to draw on.
  return shape && (typeof shape.x === 'number' || shape.waypoints) ? shape : null;
}

/**
 * The diagram element a problem's id belongs to. Validation names the nearest ancestor with an id, which
 * may have no shape of its own (a timer event definition, a multi-instance loop): walk each element's
 * business object down to its own contents, stopping at anything that is drawn separately.
 */
export function findElement(elementRegistry, id) {
  const direct = shapeOf(elementRegistry.get(id));
  if (direct) {
    return direct;
  }
  // A process drawn as a pool: the participant.
  const pool = elementRegistry.find(
    (element) => element.type === 'bpmn:Participant' && element.businessObject.processRef?.id === id,
  );
  if (pool) {
    return pool;
  }
  const drawn = (bo) => !!elementRegistry.get(bo.id);
  const contains = (bo, depth) => {
    if (!bo || typeof bo !== 'object' || !bo.$descriptor || depth > 6) {
      return false;
    }
    if (bo.id === id) {
      return true;
    }
    for (const property of bo.$descriptor.properties) {
      if (property.isReference || property.isAttr || property.isBody) {
        continue;
      }
      const value = bo.get(property.name);
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && child.$descriptor && !(child.id && drawn(child)) && contains(child, depth + 1)) {
          return true;
        }
      }
    }
    return false;
  };
  return elementRegistry.find((element) => shapeOf(element) === element && contains(element.businessObject, 0)) || null;
}

export default function problemView(modeler) {
  const canvas = modeler.get('canvas');
  const elementRegistry = modeler.get('elementRegistry');
  const overlays = modeler.get('overlays');
  const selection = modeler.get('selection');
  let marked = [];

  function clearProblems() {
    overlays.remove({ type: OVERLAY_TYPE });
    for (const element of marked) {
      if (elementRegistry.get(element.id)) {
        canvas.removeMarker(element, MARKER);
      }
    }
    marked = [];
  }

  function showProblems(problems) {
    clearProblems();
    const byElement = new Map();
    for (const problem of problems || []) {
      const element = problem && problem.element ? findElement(elementRegistry, problem.element) : null;
      if (!element) {
        continue;
      }
      if (!byElement.has(element)) {
        byElement.set(element, []);
      }
      byElement.get(element).push(problem);
    }
    let shown = 0;
    for (const [element, list] of byElement) {
      canvas.addMarker(element, MARKER);
      marked.push(element);
      const html = document.createElement('div');
      html.className = 'problem-overlay';
      html.dataset.element = element.id;
      for (const problem of list) {
        const line = document.createElement('div');
        line.className = 'problem-message';
        line.textContent = problem.message;
        line.title = `${problem.file || ''}${problem.line ? ':' + problem.line : ''} [${problem.element}]`;
        html.appendChild(line);
        shown += 1;
      }
      overlays.add(element, OVERLAY_TYPE, { position: { bottom: 0, left: 0 }, html });
    }
    const first = byElement.keys().next().value;
    if (first) {
      canvas.scrollToElement(first); // also opens the plane of a collapsed subprocess it sits in
      selection.select(first);
    }
    return shown;
  }

  return { showProblems, clearProblems };
}
