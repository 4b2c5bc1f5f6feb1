package crm

import (
	"time"

	"github.com/rpcrm/rpcrm/vcard"
)

// ContactCard maps a contact to a vCard; company is the name of its
// company. The JSON API and the web UI export contacts with it.
func ContactCard(c *Contact, company string) vcard.Card {
	card := vcard.Card{
		Kind: "individual", FormattedName: c.Name, FamilyName: c.LastName, GivenName: c.FirstName, Prefix: c.Salutation,
		Emails: c.Emails, Org: company, Title: c.JobTitle, Language: c.Language, UID: c.ID.String(), Rev: c.UpdatedAt,
		Categories: c.Tags,
	}
	for _, ph := range c.Phones {
		card.Phones = append(card.Phones, vcard.Phone{Number: ph})
	}
	ad := c.Address
	if ad.Street != "" || ad.PostalCode != "" || ad.City != "" || ad.Canton != "" {
		card.Address = &vcard.Address{Street: ad.Street, Locality: ad.City, Region: ad.Canton, PostalCode: ad.PostalCode, Country: ad.Country}
	}
	if c.Birthday != nil {
		if t, err := time.Parse(time.DateOnly, *c.Birthday); err == nil {
			card.Birthday = &t
		}
	}
	return card
}
