export { createOrganizationInjector, type OrganizationInjector, type OrganizationInjectorDependencies, type InjectStats } from './middleware.js';
export { CircuitBreaker, type BreakerState, type BreakerSnapshot } from './circuit-breaker.js';
export { classifyListRequest, mergeAgentList, mergePromptList, isFirstPage, type ListRoute } from './list-merge.js';
