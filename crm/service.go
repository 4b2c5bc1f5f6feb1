package crm

// Service is everything the user interfaces (JSON API and web UI) need of
// the CRM records; postgres.CRMService implements it.
type Service interface {
	CompanyService
	ContactService
	DocumentService
	DealService
	ActivityService
	TagService
	CustomFieldService
	SearchService
	ImportService
	DashboardService
	NameService
	ProfileService
}
