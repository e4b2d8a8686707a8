import GovernancePropertiesProvider, { GovernanceConfig } from './GovernancePropertiesProvider';
import LoopReferences from './LoopReferences';

export default {
  __init__: ['governancePropertiesProvider', 'governanceLoopReferences'],
  governanceConfig: ['factory', GovernanceConfig],
  governancePropertiesProvider: ['type', GovernancePropertiesProvider],
  governanceLoopReferences: ['type', LoopReferences],
};
