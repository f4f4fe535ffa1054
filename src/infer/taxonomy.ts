/**
 * The default category taxonomy for agent and prompt libraries.
 *
 * Seed 001 names `sales_marketing` and `customer_support` and then says "... more categories" (nine in the
 * design). The other seven are our choice: the business functions an organization's shared agents and prompts
 * are usually built for, kept disjoint enough that a person could file any item without hesitating.
 *   sales_marketing          selling, prospects, campaigns, ads, SEO, brand, social media
 *   customer_support         tickets, help desk, refunds/returns, customer replies, FAQs
 *   engineering              software, code, infrastructure, DevOps, internal IT
 *   data_analytics           data analysis, SQL, dashboards, statistics, spreadsheets, ML models
 *   writing_content          writing, editing, proofreading, translation, creative writing, summaries
 *   hr_people                hiring, interviews, onboarding staff, reviews, leave, employee policy
 *   finance_legal            accounting, invoices, budgets, tax, contracts, compliance, privacy law
 *   operations_productivity  projects, meetings, tasks, SOPs, logistics, inventory, inbox
 *   education_research       teaching, tutoring, courses, quizzes, academic research, papers
 * `general` is the fallback when no category is clearly indicated (generic assistants, personal use); it also
 * has words of its own (leisure and everyday topics) so that they count against the business categories.
 *
 * Weights: 3 = the word alone names the category, 2 = typical of it, 1 = a hint that needs company.
 * Words are matched as whole, stemmed tokens, so a plural or -ing/-ed form needs no entry of its own.
 */

/** One category: weighted single words and weighted multi-word phrases. Plain arrays mean weight 1 / 2. */
export interface CategoryDefinition {
  keywords?: Readonly<Record<string, number>> | readonly string[];
  phrases?: Readonly<Record<string, number>> | readonly string[];
}

export type Taxonomy = Readonly<Record<string, CategoryDefinition>>;

/** The category returned when nothing clears the confidence threshold. */
export const GENERAL_CATEGORY = 'general';

export const DEFAULT_CATEGORIES = {
  sales_marketing: {
    keywords: {
      abm: 3, ads: 3, advertising: 3, adwords: 3, battlecard: 3, bdr: 3, branding: 3, campaign: 3, cpc: 3, crm: 3,
      ctr: 3, drip: 3, gtm: 3, hashtag: 3, hubspot: 3, influencer: 3, marketer: 3, marketing: 3, nurture: 3,
      outreach: 3, pitch: 3, ppc: 3, prospect: 3, remarketing: 3, retargeting: 3, roas: 3, sales: 3, salesforce: 3,
      salesperson: 3, sdr: 3, seo: 3, serp: 3, slogan: 3, tagline: 3, upsell: 3, ad: 2, affiliate: 2, b2b: 2,
      b2c: 2, buyer: 2, commission: 2, competitor: 2, conversion: 2, copywriting: 2, cta: 2, deal: 2, followers: 2,
      funnel: 2, instagram: 2, lead: 2, lifecycle: 2, negotiate: 2, negotiation: 2, objection: 2, persona: 2,
      positioning: 2, promo: 2, promotional: 2, publicity: 2, qualify: 2, quota: 2, rfp: 2, sell: 2, sem: 2,
      signup: 2, sponsorship: 2, subscribers: 2, territory: 2, tiktok: 2, viral: 2, webinar: 2, activation: 1,
      audience: 1, awareness: 1, creative: 1, demo: 1, ecommerce: 1, engagement: 1, growth: 1, launch: 1,
      linkedin: 1, pipeline: 1, promotion: 1, referral: 1, seller: 1, youtube: 1,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      campana: 3, kampagne: 3, prospeccion: 3, publicidad: 3, publicite: 3, vendas: 3, vendedor: 3, ventas: 3,
      ventes: 3, verkauf: 3, vertrieb: 3, werbung: 3, comercial: 2,
    },
    phrases: {
      'account executive': 4, 'ad copy': 4, 'ad creative': 4, 'brand awareness': 4, 'buyer persona': 4,
      'close the deal': 4, 'cold call': 4, 'cold email': 4, 'cold outreach': 4, 'competitive analysis': 4,
      'content marketing': 4, 'demand gen': 4, 'demand generation': 4, 'email campaign': 4, 'email marketing': 4,
      'email sequence': 4, 'facebook ads': 4, 'go to market': 4, 'google ads': 4, 'growth hacking': 4,
      'keyword cluster': 4, 'keyword research': 4, 'lead gen': 4, 'lead generation': 4, 'lead magnet': 4,
      'marketing campaign': 4, 'marketing copy': 4, 'marketing funnel': 4, 'marketing plan': 4,
      'marketing strategy': 4, 'sales call': 4, 'sales email': 4, 'sales enablement': 4, 'sales funnel': 4,
      'sales pitch': 4, 'sales rep': 4, 'sales strategy': 4, 'sales team': 4, 'search intent': 4, 'cross sell': 3,
      'customer acquisition': 3, 'email list': 3, 'engagement rate': 3, 'landing page': 3, 'mailing list': 3,
      'market research': 3, 'onboarding email': 3, 'open rate': 3, 'press release': 3, 'product description': 3,
      'product launch': 3, 'search ads': 3, 'social media': 3, 'target audience': 3, 'trade show': 3,
      'value proposition': 3, 'win rate': 3, 'call to action': 2, 'conversion rate': 2, 'customer journey': 2,
      'product page': 2,
    },
  },
  customer_support: {
    keywords: {
      apologise: 3, apologize: 3, apology: 3, complaint: 3, csat: 3, freshdesk: 3, helpdesk: 3, helpline: 3,
      refund: 3, rma: 3, warranty: 3, zendesk: 3, angry: 2, apologetic: 2, cancel: 2, cancellation: 2,
      chargeback: 2, cx: 2, damaged: 2, deflection: 2, empathetic: 2, empathy: 2, enquiry: 2, escalate: 2,
      escalation: 2, faq: 2, frustrated: 2, hotline: 2, inquiry: 2, intercom: 2, nps: 2, resolution: 2,
      satisfaction: 2, sla: 2, support: 2, ticket: 2, troubleshoot: 2, unhappy: 2, upset: 2, customer: 1,
      exchange: 1, replacement: 1, return: 1, subscription: 1, agent: 0.5,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      kundendienst: 3, kundenservice: 3, reclamacion: 3, reembolso: 3, reklamation: 3, remboursement: 3, soporte: 3,
      suporte: 3,
    },
    phrases: {
      'angry customer': 4, 'call center': 4, 'canned response': 4, 'chat support': 4, 'contact center': 4,
      'customer care': 4, 'customer complaint': 4, 'customer onboarding': 4, 'customer service': 4,
      'customer support': 4, 'de escalate': 4, 'help center': 4, 'help centre': 4, 'help desk': 4,
      'lost package': 4, 'refund request': 4, 'return policy': 4, 'support agent': 4, 'support inbox': 4,
      'support request': 4, 'support ticket': 4, 'technical support': 4, 'upset customer': 4,
      'where is my order': 4, 'account locked': 3, 'billing issue': 3, 'billing question': 3,
      'customer conversation': 3, 'customer email': 3, 'customer experience': 3, 'customer inquiry': 3,
      'customer issue': 3, 'customer message': 3, 'customer question': 3, 'customer success': 3, 'delayed order': 3,
      'first response': 3, 'help article': 3, 'knowledge base': 3, 'live chat': 3, 'missing item': 3,
      'new customer': 3, 'order number': 3, 'order status': 3, 'password reset': 3, 'reset password': 3,
      'shipping delay': 3, 'status page': 3, 'support team': 3, 'support volume': 3, 'tier 1': 3, 'tier 2': 3,
      'wrong item': 3, 'account setup': 2, 'customer feedback': 2, 'response time': 2, 'self service': 2,
      'tracking number': 2,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      'atencion al cliente': 4, 'service client': 4, 'servicio al cliente': 4,
    },
  },
  engineering: {
    keywords: {
      a11y: 3, angular: 3, ansible: 3, api: 3, backend: 3, bug: 3, code: 3, codebase: 3, coding: 3, compiler: 3,
      csharp: 3, csrf: 3, cve: 3, cypress: 3, debug: 3, dependabot: 3, deploy: 3, deployment: 3, developer: 3,
      devops: 3, django: 3, docker: 3, dockerfile: 3, dotnet: 3, ec2: 3, finops: 3, flask: 3, frontend: 3, git: 3,
      github: 3, gitlab: 3, golang: 3, graphql: 3, javascript: 3, jenkins: 3, jwt: 3, k8s: 3, kotlin: 3, kubectl: 3,
      kubernetes: 3, lint: 3, linter: 3, microservice: 3, mongodb: 3, mysql: 3, nginx: 3, npm: 3, observability: 3,
      oncall: 3, owasp: 3, pagerduty: 3, pentest: 3, php: 3, playwright: 3, postgres: 3, postgresql: 3,
      postmortem: 3, profiler: 3, programmer: 3, programming: 3, rebase: 3, refactor: 3, regex: 3, sdk: 3,
      selenium: 3, serverless: 3, snyk: 3, software: 3, sre: 3, ssh: 3, stacktrace: 3, sysadmin: 3, terraform: 3,
      typescript: 3, vscode: 3, vue: 3, wcag: 3, xss: 3, accessibility: 2, algorithm: 2, android: 2,
      architecture: 2, aria: 2, authentication: 2, aws: 2, azure: 2, bash: 2, cdn: 2, cli: 2, cloud: 2, commit: 2,
      compile: 2, container: 2, cpu: 2, crash: 2, css: 2, database: 2, db: 2, dev: 2, diff: 2, dns: 2, downtime: 2,
      encryption: 2, endpoint: 2, engineer: 2, exception: 2, failover: 2, firewall: 2, gcp: 2, grafana: 2, helm: 2,
      html: 2, ide: 2, incident: 2, infrastructure: 2, ios: 2, java: 2, json: 2, lambda: 2, latency: 2, linux: 2,
      monitoring: 2, oauth: 2, outage: 2, pip: 2, printer: 2, profiling: 2, prometheus: 2, python: 2, rails: 2,
      rds: 2, react: 2, repo: 2, repository: 2, rollback: 2, ruby: 2, runtime: 2, rust: 2, s3: 2, scalability: 2,
      server: 2, ssl: 2, swift: 2, syntax: 2, tls: 2, vpn: 2, vulnerability: 2, webhook: 2, wifi: 2, yaml: 2,
      cache: 1, error: 1, function: 1, laptop: 1, log: 1, migration: 1, node: 1, schema: 1, script: 1, security: 1,
      technical: 1,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      codigo: 3, desarrollador: 3, developpeur: 3, entwickler: 3, logiciel: 3, programacion: 3, programmierung: 3,
    },
    phrases: {
      'attack surface': 4, 'build failure': 4, 'ci cd': 4, 'code review': 4, 'code snippet': 4,
      'end to end test': 4, 'infrastructure as code': 4, 'integration test': 4, 'it help desk': 4, 'it helpdesk': 4,
      'it security': 4, 'it support': 4, 'load balancer': 4, 'memory leak': 4, 'on call': 4, 'penetration test': 4,
      'production outage': 4, 'programming language': 4, 'pull request': 4, 'regular expression': 4,
      'shell script': 4, 'software development': 4, 'software engineer': 4, 'source code': 4, 'sql injection': 4,
      'stack trace': 4, 'system design': 4, 'threat model': 4, 'unit test': 4, 'web development': 4,
      'bug report': 3, 'command line': 3, 'data structure': 3, 'design doc': 3, 'security advisory': 3,
      'security policy': 3, 'stack overflow': 3, 'tech stack': 3, 'technical debt': 3, 'test case': 3,
      'error message': 2, 'mobile app': 2, 'open source': 2, 'release notes': 2, 'root cause': 2, 'web app': 2,
      'web page': 2,
    },
  },
  data_analytics: {
    keywords: {
      analyst: 3, analytics: 3, bigquery: 3, cohort: 3, correlation: 3, crosstab: 3, csv: 3, dashboard: 3,
      dataframe: 3, dataset: 3, dplyr: 3, etl: 3, ga4: 3, ggplot: 3, jupyter: 3, kpi: 3, looker: 3, matplotlib: 3,
      median: 3, mixpanel: 3, numpy: 3, outlier: 3, pandas: 3, percentile: 3, pivot: 3, predictive: 3,
      regression: 3, scikit: 3, seaborn: 3, seasonality: 3, sklearn: 3, sql: 3, statistic: 3, statistical: 3,
      stats: 3, tableau: 3, tidyverse: 3, visualisation: 3, visualization: 3, vlookup: 3, amplitude: 2, analyse: 2,
      analyser: 2, analysis: 2, analyze: 2, analyzer: 2, anomaly: 2, chart: 2, churn: 2, classification: 2,
      correlated: 2, data: 2, dbt: 2, excel: 2, forecast: 2, metric: 2, ml: 2, nlp: 2, prediction: 2, pytorch: 2,
      query: 2, scipy: 2, segmentation: 2, sentiment: 2, significance: 2, snowflake: 2, spreadsheet: 2,
      tensorflow: 2, visualize: 2, average: 1, classify: 1, clustering: 1, column: 1, distribution: 1, formula: 1,
      graph: 1, insight: 1, model: 1, number: 1, percentage: 1, report: 1, table: 1, trend: 1,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      estadistica: 3, statistik: 3, statistique: 3, analisis: 2, auswertung: 2, dados: 2, daten: 2, datos: 2,
      donnees: 2,
    },
    phrases: {
      'a b test': 4, 'ab test': 4, 'business intelligence': 4, 'confidence interval': 4, 'cross tab': 4,
      'data analysis': 4, 'data analyst': 4, 'data cleaning': 4, 'data pipeline': 4, 'data quality': 4,
      'data science': 4, 'data scientist': 4, 'data visualization': 4, 'data warehouse': 4,
      'descriptive statistics': 4, 'exploratory analysis': 4, 'feature engineering': 4, 'google analytics': 4,
      'machine learning': 4, 'pivot table': 4, 'power bi': 4, 'sentiment analysis': 4, 'sql query': 4,
      'standard deviation': 4, 'statistical analysis': 4, 'statistical test': 4, 'survey data': 4,
      'survey results': 4, 'time series': 4, 'tracking plan': 4, 'churn rate': 3, 'data governance': 3,
      'data model': 3, 'event data': 3, 'event tracking': 3, 'google sheets': 3, 'key metrics': 3,
      'net promoter': 3, 'p value': 3, 'raw data': 3, 'response rate': 3, 'sample size': 3, 'split test': 3,
      'survey responses': 3, 'training data': 3, 'actionable insights': 2, 'drop off': 2,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      'tableau de bord': 4,
    },
  },
  writing_content: {
    keywords: {
      proofread: 4, proofreader: 4, article: 3, blog: 3, blogger: 3, columnist: 3, condense: 3, copyediting: 3,
      editor: 3, editorial: 3, eulogy: 3, fanfiction: 3, fiction: 3, ghostwriter: 3, grammar: 3, grammer: 3,
      haiku: 3, journalism: 3, journalist: 3, limerick: 3, lyrics: 3, manuscript: 3, memoir: 3, microcopy: 3,
      novel: 3, obituary: 3, paraphrase: 3, paraphraser: 3, poem: 3, poetry: 3, prose: 3, punctuation: 3,
      readability: 3, rephrase: 3, reword: 3, rewrite: 3, rhyme: 3, screenplay: 3, scriptwriter: 3, shorten: 3,
      speechwriter: 3, storytelling: 3, summarizer: 3, synonym: 3, thesaurus: 3, tldr: 3, translate: 3,
      translation: 3, translator: 3, typo: 3, worldbuilding: 3, writer: 3, author: 2, biography: 2, book: 2,
      content: 2, copywriter: 2, creative: 2, edit: 2, essay: 2, headline: 2, localization: 2, localize: 2,
      narrative: 2, newsletter: 2, outline: 2, paragraph: 2, plot: 2, podcast: 2, polish: 2, polisher: 2,
      simplify: 2, speech: 2, spelling: 2, story: 2, subtitle: 2, summarise: 2, summarize: 2, summary: 2, toast: 2,
      tone: 2, verse: 2, wording: 2, writing: 2, caption: 1, character: 1, clarity: 1, concise: 1, copy: 1,
      dialogue: 1, draft: 1, episode: 1, formal: 1, letter: 1, text: 1, transcript: 1, write: 1,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      articulo: 3, korrektur: 3, redaccion: 3, redaction: 3, traduccion: 3, traducir: 3, traduction: 3, traduire: 3,
      ubersetzen: 3, ubersetzung: 3, escribir: 2, schreiben: 2,
    },
    phrases: {
      'ap style': 4, 'blog post': 4, 'chicago manual': 4, 'content writer': 4, 'creative writing': 4,
      'grammar check': 4, 'short story': 4, 'show notes': 4, 'technical writing': 4, 'ux writing': 4,
      'video script': 4, 'writer s block': 4, 'writing style': 4, 'active voice': 3, 'alt text': 3,
      'content creation': 3, 'first draft': 3, 'line edit': 3, 'op ed': 3, 'passive voice': 3, 'plain english': 3,
      'plain language': 3, 'sentence structure': 3, 'style guide': 3, 'tl dr': 3, 'tone of voice': 3,
      'word choice': 3, 'word count': 3, 'cover letter': 2, 'in the style of': 2, 'long form': 2, 'subject line': 2,
      'user guide': 2,
    },
  },
  hr_people: {
    keywords: {
      applicant: 3, appraisal: 3, candidate: 3, dei: 3, disciplinary: 3, employee: 3, glassdoor: 3, grievance: 3,
      harassment: 3, hire: 3, hiring: 3, hr: 3, interviewer: 3, layoff: 3, misconduct: 3, morale: 3, offboarding: 3,
      payslip: 3, personnel: 3, pto: 3, recruit: 3, recruiter: 3, recruitment: 3, workforce: 3, '401k': 2,
      anniversary: 2, career: 2, compensation: 2, competency: 2, cv: 2, diversity: 2, handbook: 2, headcount: 2,
      inclusion: 2, intern: 2, internship: 2, interview: 2, mentoring: 2, mentorship: 2, onboarding: 2, payroll: 2,
      pension: 2, recognition: 2, relocation: 2, reskilling: 2, resume: 2, salary: 2, shortlist: 2, staff: 2,
      talent: 2, upskilling: 2, wellbeing: 2, workplace: 2, benefits: 1, feedback: 1, leave: 1, manager: 1,
      promotion: 1, retention: 1, training: 1, vacation: 1, policy: 0.5, team: 0.5,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      bewerber: 3, bewerbung: 3, candidat: 3, candidato: 3, contratacion: 3, embauche: 3, empleado: 3,
      personalabteilung: 3, reclutamiento: 3, recrutement: 3, rh: 3, mitarbeiter: 2,
    },
    phrases: {
      'career development': 4, 'employee engagement': 4, 'employee handbook': 4, 'employee survey': 4,
      'exit interview': 4, 'hiring manager': 4, 'human resource': 4, 'interview question': 4, 'job description': 4,
      'job interview': 4, 'job posting': 4, 'leadership training': 4, 'maternity leave': 4, 'new employee': 4,
      'new hire': 4, 'offer letter': 4, 'paid time off': 4, 'parental leave': 4, 'people operations': 4,
      'people ops': 4, 'people team': 4, 'performance improvement plan': 4, 'performance review': 4,
      'pulse survey': 4, 'sick leave': 4, 'talent acquisition': 4, 'background check': 3, 'code of conduct': 3,
      'direct report': 3, 'employer brand': 3, 'first time manager': 3, 'job ad': 3, 'job application': 3,
      'job offer': 3, 'job seeker': 3, 'learning and development': 3, 'one on one': 3, 'org chart': 3,
      'reference check': 3, 'return to office': 3, 'shout out': 3, 'team building': 3, 'time off': 3,
      'training program': 3, 'hybrid work': 2, 'remote work': 2, 'stock options': 2, 'team member': 2,
      'well being': 2,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      'recursos humanos': 4, 'ressources humaines': 4,
    },
  },
  finance_legal: {
    keywords: {
      gdpr: 4, nda: 4, accountant: 3, accounting: 3, accrual: 3, aml: 3, amortization: 3, arbitration: 3,
      attorney: 3, bookkeeping: 3, budget: 3, capex: 3, cashflow: 3, ccpa: 3, cfo: 3, clause: 3, compliance: 3,
      contract: 3, depreciation: 3, dividend: 3, dpia: 3, dpo: 3, dunning: 3, ebitda: 3, eula: 3, expense: 3,
      finance: 3, financial: 3, fiscal: 3, fundraise: 3, fundraising: 3, gaap: 3, hipaa: 3, ifrs: 3,
      indemnification: 3, indemnity: 3, invoice: 3, jurisdiction: 3, kyc: 3, lawsuit: 3, lawyer: 3, ledger: 3,
      legal: 3, liability: 3, litigation: 3, netsuite: 3, opex: 3, paralegal: 3, patent: 3, quickbooks: 3,
      reconciliation: 3, redline: 3, regulatory: 3, shareholder: 3, solicitor: 3, statute: 3, tax: 3, trademark: 3,
      valuation: 3, vat: 3, xero: 3, agreement: 2, arr: 2, audit: 2, bank: 2, breach: 2, compliant: 2, copyright: 2,
      counsel: 2, court: 2, debt: 2, dispute: 2, earnings: 2, insurance: 2, investment: 2, investor: 2, law: 2,
      lease: 2, loan: 2, margin: 2, mortgage: 2, mrr: 2, msa: 2, overdue: 2, privacy: 2, profit: 2, receipt: 2,
      reconcile: 2, regulation: 2, runway: 2, settlement: 2, sow: 2, spend: 2, variance: 2, vc: 2, venture: 2,
      revenue: 1.5, billing: 1, cost: 1, economics: 1, money: 1, payment: 1, risk: 1, transaction: 1, policy: 0.5,
      price: 0.5,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      datenschutz: 4, abogado: 3, anwalt: 3, buchhaltung: 3, comptabilite: 3, contabilidad: 3, contrat: 3,
      contrato: 3, factura: 3, facture: 3, finanzas: 3, impot: 3, impuesto: 3, juridique: 3, presupuesto: 3,
      rechnung: 3, rechtlich: 3, steuer: 3, vertrag: 3, avocat: 2,
    },
    phrases: {
      'accounts payable': 4, 'accounts receivable': 4, 'anti money laundering': 4, 'balance sheet': 4,
      'board deck': 4, 'break even': 4, 'cap table': 4, 'cash flow': 4, 'data privacy': 4,
      'data processing agreement': 4, 'data subject': 4, 'employment law': 4, 'expense report': 4,
      'financial model': 4, 'financial statement': 4, 'general ledger': 4, 'gross margin': 4, 'income statement': 4,
      'legal advice': 4, 'legal document': 4, 'legal review': 4, 'legal team': 4, 'license agreement': 4,
      'master service agreement': 4, 'month end close': 4, 'net income': 4, 'non disclosure': 4,
      'payment reminder': 4, 'profit and loss': 4, 'revenue recognition': 4, 'statement of work': 4,
      'tax return': 4, 'third party risk': 4, 'unit economics': 4, 'board meeting': 3, 'cost center': 3,
      'data protection': 3, 'due diligence': 3, 'intellectual property': 3, 'personal finance': 3, 'pitch deck': 3,
      'privacy policy': 3, 'purchase order': 3, 'service agreement': 3, 'terms and conditions': 3,
      'terms of service': 3, 'vendor risk': 3,
    },
  },
  operations_productivity: {
    keywords: {
      sop: 4, agenda: 3, asana: 3, freight: 3, fulfillment: 3, gantt: 3, gtd: 3, inbox: 3, inventory: 3, kanban: 3,
      logistics: 3, manufacturing: 3, meeting: 3, milestone: 3, okr: 3, operations: 3, ops: 3, pomodoro: 3,
      productivity: 3, raci: 3, roster: 3, runbook: 3, supplier: 3, todo: 3, trello: 3, zapier: 3, automation: 2,
      backlog: 2, blocker: 2, bottleneck: 2, calendar: 2, carrier: 2, checklist: 2, coordinate: 2, coordination: 2,
      deadline: 2, delegate: 2, delegation: 2, dispatch: 2, efficiency: 2, facility: 2, fleet: 2, handoff: 2,
      handover: 2, jira: 2, maintenance: 2, operational: 2, planner: 2, prioritise: 2, prioritize: 2, procedure: 2,
      procrastination: 2, procurement: 2, reminder: 2, retrospective: 2, roadmap: 2, schedule: 2, shift: 2,
      shipment: 2, sprint: 2, stakeholder: 2, standup: 2, task: 2, tracker: 2, vendor: 2, warehouse: 2, workflow: 2,
      decision: 1, delivery: 1, email: 1, estimate: 1, estimation: 1, minutes: 1, note: 1, organize: 1, plan: 1,
      priority: 1, process: 1, project: 1, routine: 1, timeline: 1, track: 1, triage: 1,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      projektmanagement: 4, besprechung: 3, inventario: 3, logistica: 3, aufgabe: 2, planificacion: 2, projekt: 2,
      projet: 2, proyecto: 2, tache: 2, tarea: 2,
    },
    phrases: {
      'action item': 4, 'decision log': 4, 'executive assistant': 4, 'inbox zero': 4, 'meeting minutes': 4,
      'meeting notes': 4, 'operations team': 4, 'order fulfillment': 4, 'process improvement': 4,
      'project management': 4, 'project manager': 4, 'project plan': 4, 'project status': 4, 'risk register': 4,
      'standard operating procedure': 4, 'status report': 4, 'status update': 4, 'story point': 4,
      'supply chain': 4, 'time blocking': 4, 'time management': 4, 'user story': 4, 'workflow automation': 4,
      'capacity planning': 3, 'daily standup': 3, 'deep work': 3, 'due date': 3, 'field service': 3, 'lead time': 3,
      'next action': 3, 'note taking': 3, 'production line': 3, 'program manager': 3, 'quality control': 3,
      'resource allocation': 3, 'six sigma': 3, 'time tracking': 3, 'to do list': 3, 'weekly review': 3,
      'weekly update': 3, 'work order': 3, 'catch up': 2, 'next steps': 2, 'run book': 2,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      'gestion de projet': 4, 'gestion de proyectos': 4, 'compte rendu': 3,
    },
  },
  education_research: {
    keywords: {
      academic: 3, algebra: 3, arxiv: 3, bibliography: 3, calculus: 3, citation: 3, classroom: 3, conjugation: 3,
      coursework: 3, curriculum: 3, dissertation: 3, education: 3, educational: 3, educator: 3, elearning: 3,
      empirical: 3, esl: 3, exam: 3, flashcard: 3, geometry: 3, gmat: 3, grader: 3, homework: 3, ielts: 3, irb: 3,
      kindergarten: 3, learner: 3, lecture: 3, lesson: 3, lsat: 3, mcat: 3, methodology: 3, mnemonic: 3, mooc: 3,
      pedagogy: 3, phd: 3, preschool: 3, professor: 3, pubmed: 3, pupil: 3, quiz: 3, research: 3, researcher: 3,
      scholar: 3, scholarly: 3, socratic: 3, student: 3, syllabus: 3, teach: 3, teacher: 3, textbook: 3, thesis: 3,
      toefl: 3, tutor: 3, worksheet: 3, zotero: 3, apa: 2, assessment: 2, biology: 2, bootcamp: 2, chemistry: 2,
      cite: 2, college: 2, course: 2, experiment: 2, grade: 2, hypothesis: 2, journal: 2, lab: 2, laboratory: 2,
      learn: 2, literature: 2, math: 2, mathematics: 2, memorize: 2, mla: 2, paper: 2, philosophy: 2, physics: 2,
      pronunciation: 2, qualitative: 2, rubric: 2, school: 2, science: 2, scientific: 2, scientist: 2, study: 2,
      theoretical: 2, theory: 2, university: 2, vocabulary: 2, assignment: 1, child: 1, concept: 1, exercise: 1,
      explain: 1, history: 1, kid: 1, practice: 1, test: 0.5,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      alumno: 3, eleve: 3, enseignant: 3, estudiante: 3, etudiant: 3, forschung: 3, investigacion: 3, lehrer: 3,
      profesor: 3, recherche: 3, schuler: 3, unterricht: 3, ecole: 2, escuela: 2, universidad: 2, universitat: 2,
      universite: 2,
    },
    phrases: {
      'conference paper': 4, 'exam prep': 4, 'google scholar': 4, 'graduate student': 4, 'instructional design': 4,
      'language learning': 4, 'learning objective': 4, 'lesson plan': 4, 'literature review': 4, 'meta analysis': 4,
      'research paper': 4, 'research question': 4, 'spelling bee': 4, 'study guide': 4, 'study plan': 4,
      'systematic review': 4, 'academic writing': 3, 'e learning': 3, 'elementary school': 3, 'field trip': 3,
      'grant proposal': 3, 'high school': 3, 'middle school': 3, 'peer review': 3, 'multiple choice': 2,
      'step by step': 1,
    },
  },
  // Not a business function: everyday and leisure topics, listed so that their words ("quiz night", "trip plan")
  // pull an item towards `general` instead of into a business category.
  general: {
    keywords: {
      astrology: 3, chess: 3, cooking: 3, dating: 3, diy: 3, dungeon: 3, fitness: 3, fridge: 3, garden: 3, gift: 3,
      gym: 3, hobby: 3, horoscope: 3, itinerary: 3, joke: 3, movie: 3, outfit: 3, pet: 3, playlist: 3, pun: 3,
      recipe: 3, riddle: 3, roleplay: 3, trivia: 3, workout: 3, birthday: 2, cat: 2, christmas: 2, companion: 2,
      diet: 2, dinner: 2, dog: 2, fantasy: 2, fashion: 2, film: 2, football: 2, game: 2, grocery: 2, holiday: 2,
      hotel: 2, ingredient: 2, meal: 2, meditation: 2, mindfulness: 2, music: 2, parenting: 2, sleep: 2, soccer: 2,
      song: 2, sport: 2, travel: 2, trip: 2, weather: 2, weekend: 2, wine: 2, anything: 1, casual: 1, chat: 1,
      chatbot: 1, exercise: 1, family: 1, flight: 1, friend: 1, fun: 1, habit: 1, motivation: 1, plant: 1,
      random: 1, relationship: 1, vacation: 1, wedding: 1,
      // The same words in Spanish, French, German and Portuguese (accents are ignored).
      receta: 3, recette: 3, rezept: 3, reise: 2, viaje: 2, voyage: 2,
    },
    phrases: {
      'general purpose': 4, 'grocery list': 4, 'home repair': 4, 'meal plan': 4, 'pub quiz': 4, 'any topic': 3,
      'book recommendation': 3, 'helpful assistant': 3, 'just chat': 3, 'life coach': 3, 'role play': 3,
      'personal assistant': 2,
    },
  },
} as const satisfies Taxonomy;

export type DefaultCategory = keyof typeof DEFAULT_CATEGORIES;
