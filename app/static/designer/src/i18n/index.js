// The modeller's language: bpmn-js, diagram-js, the properties panel, bpmnlint and our governance group
// all ask the one `translate` service (English template + {placeholders}). Chinese pages get the zh
// dictionary (community bpmn-js-i18n completed and corrected in ./zh.js); English pages keep the
// English templates. A key the dictionary lacks falls back to English and is remembered in `missing`,
// so a test can list what still needs a translation.

import zh, { PATTERNS as ZH_PATTERNS } from './zh';

const DICTIONARIES = { zh };
const PATTERNS = { zh: ZH_PATTERNS };

/** `zh_CN`, `zh`, `zh-Hans` → `zh`; anything else (`en`) → no dictionary. */
export function languageOf(locale) {
  return String(locale || 'zh').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

function fill(template, replacements) {
  return template.replace(/{([^}]+)}/g, (all, key) => {
    const value = replacements ? replacements[key] : undefined;
    return value === undefined || value === null ? `{${key}}` : String(value);
  });
}

/** A translate function for `locale`; `missing` collects the English templates it had no entry for. */
export function makeTranslate(locale, missing = new Set()) {
  const dictionary = DICTIONARIES[languageOf(locale)] || null;
  const patterns = PATTERNS[languageOf(locale)] || [];
  function translate(template, replacements) {
    let text = template;
    if (dictionary && template) {
      if (Object.prototype.hasOwnProperty.call(dictionary, template)) {
        text = dictionary[template];
      } else {
        const found = patterns.find(([pattern]) => pattern.test(template));
        if (found) {
          text = found[1](template.match(found[0]));
        } else if (!/[\u3400-\u9fff]/.test(template)) {
          missing.add(template); // (a message our lint rules worded already is not missing)
        }
      }
    }
    return fill(text, replacements);
  }
  translate.missing = missing;
  translate.language = languageOf(locale);
  return translate;
}

/** The bpmn-js module overriding diagram-js's `translate` service. */
export function translateModule(locale) {
  const translate = makeTranslate(locale);
  return { translate: ['value', translate] };
}
